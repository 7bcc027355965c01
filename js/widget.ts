// anywidget entry: `initialize` owns the call (one per model, shared by every view),
// `render` draws a view of it.

import type { AnyModel } from "@anywidget/types";
import "./widget.css";
import { Session } from "./session";
import type { RealtimeModel } from "./types";
import { renderView } from "./ui/view";

// anywidget hands `initialize` and `render` different proxies of one model, so sessions are
// found by the widget's private id.
const sessions = new Map<string, Session>();

export default {
	initialize({ model }: { model: AnyModel<RealtimeModel> }) {
		const id = model.get("_widget_id");
		const session = new Session(model);
		sessions.set(id, session);
		return () => {
			session.dispose();
			sessions.delete(id);
		};
	},
	render({ model, el }: { model: AnyModel<RealtimeModel>; el: HTMLElement }) {
		const session = sessions.get(model.get("_widget_id"));
		if (!session) throw new Error("rt-widget: the widget was rendered before it was initialized.");
		session.viewed();
		return renderView(el, model, session);
	},
};
