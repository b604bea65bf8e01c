/* WGS84 to GCJ-02, for display only: where a WGS84 point (what the server stores and GPS
   gives) is drawn on a Chinese provider's tiles. The published forward formula on the
   Krasovsky 1940 ellipsoid; outside the rough box of China a point is not shifted.
   parking/gcj02.py is the same function on the server; a browser test checks they agree. */
"use strict";

const wgs84ToGcj02 = (() => {
  const A = 6378245.0; // Krasovsky 1940 semi-major axis, metres
  const EE = 0.00669342162296594323; // its first eccentricity squared

  function outsideChina(lat, lng) {
    return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }

  function shift(x, y) {
    const xPi = x * Math.PI;
    const yPi = y * Math.PI;
    const common = 20.0 * Math.sin(6.0 * xPi) + 20.0 * Math.sin(2.0 * xPi);
    let dLat = common + 20.0 * Math.sin(yPi) + 40.0 * Math.sin(yPi / 3.0);
    let dLng = common + 20.0 * Math.sin(xPi) + 40.0 * Math.sin(xPi / 3.0);
    dLat += 160.0 * Math.sin(yPi / 12.0) + 320.0 * Math.sin(yPi / 30.0);
    dLng += 150.0 * Math.sin(xPi / 12.0) + 300.0 * Math.sin(xPi / 30.0);
    dLat = (dLat * 2.0) / 3.0 - 100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dLng = (dLng * 2.0) / 3.0 + 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    return [dLat, dLng];
  }

  /** [lat, lng] where the WGS84 point (lat, lng) is drawn on GCJ-02 tiles. */
  return function wgs84ToGcj02(lat, lng) {
    if (outsideChina(lat, lng)) return [lat, lng];
    let [dLat, dLng] = shift(lng - 105.0, lat - 35.0);
    const radLat = (lat * Math.PI) / 180.0;
    const magic = 1 - EE * Math.sin(radLat) ** 2;
    const sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
    dLng = (dLng * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
    return [lat + dLat, lng + dLng];
  };
})();
