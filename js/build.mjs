// Bundles the widget into rt_widget/static/ as one self-contained ES module (anywidget loads
// it from a Blob URL, so there can be no chunks or relative imports) plus its CSS.
//   node js/build.mjs            production build (minified)
//   node js/build.mjs --dev      inline source maps
//   node js/build.mjs --watch    rebuild on change (with ANYWIDGET_HMR=1 in the kernel)
import * as esbuild from "esbuild";

const dev = process.argv.includes("--dev");
const watch = process.argv.includes("--watch");

const options = {
	entryPoints: { widget: "js/widget.ts" },
	outdir: "rt_widget/static",
	bundle: true,
	format: "esm",
	target: "es2022",
	minify: !dev,
	sourcemap: dev ? "inline" : false,
	logLevel: "info",
};

if (watch) {
	await (await esbuild.context(options)).watch();
} else {
	await esbuild.build(options);
}
