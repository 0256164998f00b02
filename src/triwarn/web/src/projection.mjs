// The map's one projection, shared by the build (which projects the basemap once) and the page (which
// projects tracks, ellipses and areas as they arrive). Base units are about 100 m at the equator;
// the page's zoom transform scales them to screen pixels.
import { geoMercator } from "d3-geo";

// Rotated so that Korea, Japan, Guam, Hawaii and the Aleutians lie on one side of the cut (at 20° W).
export const ROTATE = [-160, 0];
export const SCALE = 63710;

export function baseProjection() {
  // No adaptive resampling: the 50m outlines are dense already, and it would triple the cost.
  return geoMercator().rotate(ROTATE).scale(SCALE).translate([0, 0]).precision(0);
}
