// What the views of a session read: the live call's Session and a replay's both offer it.

import type { EventLogModel } from "./eventlog-model";
import type { TranscriptModel } from "./transcript-model";

export interface Shown {
	readonly log: EventLogModel;
	readonly transcript: TranscriptModel;
	/** Goes up whenever the transcript changes. */
	readonly transcriptVersion: number;
	/** The microphone and the model's voice, for the level meters (null: none now). */
	readonly microphone: MediaStream | null;
	readonly voice: MediaStream | null;
	/** Call `listener` after anything shown has changed; returns the unsubscribe. */
	subscribe(listener: () => void): () => void;
	/** A replay moves its playhead to this event time (epoch ms) when an event is picked. */
	jumpTo?(t: number): void;
}
