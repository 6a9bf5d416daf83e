// PNG output of the report's figures (Node only: @resvg/resvg-js is a native addon; never imported by the core).
import { Resvg } from "@resvg/resvg-js";

/**
 * Rasterises an SVG string to PNG bytes with resvg, at `scale` × the SVG's size (default 2), using the system's
 * fonts (the generic sans-serif family mapped to DejaVu Sans, which Debian ships).
 *
 * @example
 * writeFileAtomic("noise.png", svgToPng(await renderSvg(spec)));
 */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, sansSerifFamily: "DejaVu Sans", defaultFontFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}
