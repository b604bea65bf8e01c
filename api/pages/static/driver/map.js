/* The driver's map: Leaflet (served from vendor/leaflet, never a CDN) with the roads around a
   point drawn from their CDS zone outlines, coloured by free bays and labelled with their
   names, the reach of the search and the driver's position. The district's tiles (its
   <script id="map-config">) go underneath when it has some; without them the roads are drawn
   on a plain background and the page needs nothing but this server. Positions are WGS84;
   on GCJ-02 tiles (Chinese providers) every point is shifted for display only. */
"use strict";

const driverMap = (() => {
  const source = document.getElementById("map-config");
  const config = source ? JSON.parse(source.textContent) : { tiles: null };
  const tiles = config.tiles;
  const shown = tiles && tiles.crs === "gcj02" ? wgs84ToGcj02 : (lat, lng) => [lat, lng];
  let map = null;
  let drawn = null; // the layers of the last drawing, replaced by the next
  let me = null;
  let framed = ""; // the centre and radius the view was last fitted to

  /** many (3+ free), few (1–2), none (every bay known and taken), unknown (nothing known free,
      and some bays not known: we cannot say the road is full). */
  function availability(road) {
    if (!road) return "unknown";
    if (road.free >= 3) return "many";
    if (road.free >= 1) return "few";
    return road.unknown > 0 || road.total === 0 ? "unknown" : "none";
  }

  function rings(geometry) {
    const shape = geometry && geometry.type === "Feature" ? geometry.geometry : geometry;
    if (!shape) return [];
    if (shape.type === "Polygon") return [shape.coordinates[0]];
    if (shape.type === "MultiPolygon") return shape.coordinates.map((polygon) => polygon[0]);
    if (shape.type === "LineString") return [shape.coordinates];
    return [];
  }

  // The provider's credit is data an operator typed: shown as text, never as markup.
  function asText(value) {
    const holder = document.createElement("span");
    holder.textContent = value;
    return holder.innerHTML;
  }

  function create(element) {
    map = L.map(element, { zoomControl: false, attributionControl: false, zoomSnap: 0.5 });
    L.control.zoom({ zoomInTitle: t("Zoom in"), zoomOutTitle: t("Zoom out") }).addTo(map);
    if (tiles) {
      L.control.attribution({ prefix: false }).addTo(map);
      L.tileLayer(tiles.url, { attribution: asText(tiles.attribution), maxZoom: 19 }).addTo(map);
    } else {
      element.classList.add("plain");
    }
  }

  function roadShape(zone, ring, road, onPick) {
    const state = availability(road);
    const name = road ? road.name : zone.name || zone.curb_zone_id;
    const free = road ? t("%(free)s free of %(total)s", { free: road.free, total: road.total }) : t("no data");
    const shape = L.polygon(
      ring.map(([lng, lat]) => shown(lat, lng)),
      { className: "road " + state, weight: 7, lineJoin: "round", fillOpacity: 0.6 },
    );
    shape.on("click", () => onPick(zone.curb_zone_id));
    shape.on("add", () => {
      const path = shape.getElement();
      path.setAttribute("data-road-id", zone.curb_zone_id);
      path.setAttribute("data-availability", state);
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", "button");
      path.setAttribute("aria-label", `${name}: ${free}`);
      path.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") onPick(zone.curb_zone_id);
      });
    });
    return shape;
  }

  /** A label beside the road, not over it, on its side away from the centre (where roads
      that meet at a corner leave room): left or right of a north-south road, above or below
      an east-west one. */
  function beside(ring, centre) {
    const lngs = ring.map((point) => point[0]);
    const lats = ring.map((point) => point[1]);
    const [west, east, south, north] = [Math.min(...lngs), Math.max(...lngs), Math.min(...lats), Math.max(...lats)];
    if (north - south > (east - west) * Math.cos((centre.lat * Math.PI) / 180)) {
      return (west + east) / 2 < centre.lng ? { direction: "left", offset: [-8, 0] } : { direction: "right", offset: [8, 0] };
    }
    return (south + north) / 2 < centre.lat ? { direction: "bottom", offset: [0, 8] } : { direction: "top", offset: [0, -8] };
  }

  /** Draw `zones` (CDS curb zones) around `centre` within `radius` metres in `element`;
      `roads` maps a zone id to its vacancy; `onPick(id)` is called when a road is tapped.
      The view is fitted to the reach when the centre moves, and left as the driver
      panned and zoomed it when only the counts changed. */
  function draw(element, centre, radius, zones, roads, onPick) {
    if (!map) create(element);
    const here = shown(centre.lat, centre.lng);
    const layers = [L.circle(here, { radius, className: "reach", interactive: false })];
    const named = new Set(); // a street is named once, beside its first block face
    for (const zone of zones) {
      const road = roads.get(zone.curb_zone_id);
      rings(zone.geometry).forEach((ring) => {
        const shape = roadShape(zone, ring, road, onPick);
        const street = zone.street_name || (road ? road.name : zone.name);
        if (street && !named.has(street)) {
          named.add(street);
          shape.bindTooltip(asText(street), { permanent: true, className: "road-label", ...beside(ring, centre) });
        }
        layers.push(shape);
      });
    }
    me = L.circleMarker(here, { radius: 9, className: "me", weight: 3, fillOpacity: 1, interactive: false });
    layers.push(me);
    if (drawn) drawn.remove();
    drawn = L.layerGroup(layers).addTo(map);
    const key = `${centre.lat},${centre.lng},${radius}`;
    if (framed !== key) {
      map.fitBounds(L.latLng(here).toBounds(2 * radius), { padding: [4, 4] });
      framed = key;
    }
  }

  /** Where the driver's position is drawn, [lat, lng] on the map's tiles (GCJ-02 shifted when they are). */
  function shownPosition() {
    if (!me) return null;
    const at = me.getLatLng();
    return [at.lat, at.lng];
  }

  return { draw, availability, shownPosition };
})();
