// esbuild bundles imported CSS into rt_widget/static/widget.css.
declare module "*.css";
