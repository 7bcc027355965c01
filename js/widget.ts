// anywidget entry: `initialize` owns the call (one per model, shared by every view),
// `render` draws a view of it.

import type { AnyModel } from "@anywidget/types";
import "./widget.css";
import { ReplaySession } from "./replay";
import { Session } from "./session";
import type { RealtimeModel, ReplayModel } from "./types";
import { renderReplayView, renderView } from "./ui/view";

// One bundle for both widgets: a live call (Realtime) and a replay (Replay, mode "replay").
type Model = AnyModel<RealtimeModel & Partial<ReplayModel>>;

function isReplay(model: Model): boolean {
	return model.get("mode") === "replay";
}

// anywidget hands `initialize` and `render` different proxies of one model, so sessions are
// found by the widget's private id.
const sessions = new Map<string, Session | ReplaySession>();

export default {
	initialize({ model }: { model: Model }) {
		const id = model.get("_widget_id");
		const session = isReplay(model)
			? new ReplaySession(model as unknown as AnyModel<ReplayModel>)
			: new Session(model as AnyModel<RealtimeModel>);
		sessions.set(id, session);
		return () => {
			session.dispose();
			sessions.delete(id);
		};
	},
	render({ model, el }: { model: Model; el: HTMLElement }) {
		const session = sessions.get(model.get("_widget_id"));
		if (!session) throw new Error("rt-widget: the widget was rendered before it was initialized.");
		if (session instanceof ReplaySession) {
			return renderReplayView(el, model.get("title") ?? "", session);
		}
		session.viewed();
		return renderView(el, model as AnyModel<RealtimeModel>, session);
	},
};
