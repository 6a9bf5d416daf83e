// The fitting worker: a message loop around Session, so that fits, certificates and attacks never block the page.
import { RobustMetricError } from "robust-metric/core";
import type { Request, Response } from "./protocol";
import { learnerInfos, loadData, Session, summarize } from "./session";

const session = new Session();
const post = (m: Response) => (self as unknown as { postMessage(m: Response): void }).postMessage(m);

self.onmessage = (ev: MessageEvent<Request>) => {
  const req = ev.data;
  try {
    if (req.type === "fit") {
      const view = session.fit(req.spec, (stage, done, total, objective) =>
        post({
          type: "progress",
          id: req.id,
          stage,
          done,
          total,
          ...(objective !== undefined ? { objective } : {}),
        }),
      );
      post({ type: "fitted", id: req.id, view });
    } else if (req.type === "attack") {
      post({ type: "attacked", id: req.id, view: session.attack(req.index) });
    } else if (req.type === "attackAll") {
      const view = session.attackAll((stage, done, total) =>
        post({ type: "progress", id: req.id, stage, done, total }),
      );
      post({ type: "attackedAll", id: req.id, view });
    } else if (req.type === "inspect") {
      post({ type: "inspected", id: req.id, summary: summarize(loadData(req.data)) });
    }
  } catch (e) {
    const code = e instanceof RobustMetricError ? e.code : "INTERNAL";
    post({ type: "error", id: req.id, code, message: e instanceof Error ? e.message : String(e) });
  }
};

post({ type: "ready", learners: learnerInfos() });
