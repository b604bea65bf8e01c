/* The driver's map: road outlines (GeoJSON from the CDS zones) drawn on an SVG around a point,
   coloured by free bays. A local flat projection in metres is exact enough over a few km, and
   needs no tiles from anywhere. */
"use strict";

const driverMap = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const METRES_PER_DEGREE_LAT = 110574;
  const METRES_PER_DEGREE_LNG = 111320;

  /** many (3+ free), few (1–2), none (every bay known and taken), unknown (nothing known free,
      and some bays not known: we cannot say the road is full). */
  function availability(road) {
    if (!road) return "unknown";
    if (road.free >= 3) return "many";
    if (road.free >= 1) return "few";
    return road.unknown > 0 || road.total === 0 ? "unknown" : "none";
  }

  function projector(centre) {
    const cos = Math.cos((centre.lat * Math.PI) / 180);
    return ([lng, lat]) => [
      (lng - centre.lng) * METRES_PER_DEGREE_LNG * cos,
      -(lat - centre.lat) * METRES_PER_DEGREE_LAT,
    ];
  }

  function rings(geometry) {
    const shape = geometry && geometry.type === "Feature" ? geometry.geometry : geometry;
    if (!shape) return [];
    if (shape.type === "Polygon") return [shape.coordinates[0]];
    if (shape.type === "MultiPolygon") return shape.coordinates.map((polygon) => polygon[0]);
    return [];
  }

  function node(tag, attrs) {
    const element = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
    return element;
  }

  /** Draw `zones` (CDS curb zones) around `centre` within `radius` metres; `roads` maps a zone
      id to its vacancy; `onPick(id)` is called when a road is tapped. */
  function draw(svg, centre, radius, zones, roads, onPick) {
    const project = projector(centre);
    svg.setAttribute("viewBox", `${-radius} ${-radius} ${2 * radius} ${2 * radius}`);
    svg.replaceChildren(node("circle", { cx: 0, cy: 0, r: radius, class: "reach" }));
    for (const zone of zones) {
      const road = roads.get(zone.curb_zone_id);
      const state = availability(road);
      for (const ring of rings(zone.geometry)) {
        const points = ring.map((point) => project(point).map((v) => v.toFixed(1)).join(",")).join(" ");
        const shape = node("polygon", {
          points,
          class: "road " + state,
          "data-road-id": zone.curb_zone_id,
          "data-availability": state,
          tabindex: "0",
          role: "button",
        });
        const name = road ? road.name : zone.name || zone.curb_zone_id;
        const free = road ? t("%(free)s free of %(total)s", { free: road.free, total: road.total }) : t("no data");
        shape.append(node("title", {}));
        shape.lastChild.textContent = `${name}: ${free}`;
        shape.addEventListener("click", () => onPick(zone.curb_zone_id));
        shape.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") onPick(zone.curb_zone_id);
        });
        svg.append(shape);
      }
    }
    svg.append(node("circle", { cx: 0, cy: 0, r: radius / 40, class: "me" }));
  }

  return { draw, availability };
})();
