"""Prometheus metrics of one live node, in a registry of its own (several nodes may share a process).

Names (all prefixed `triwarn_node_`, each labelled with the node's `nation`):

=================================  =========  ==============================================================
steps_total                        counter    steps run
steps_skipped_total                counter    clock steps skipped because the node was behind
step_duration_seconds              histogram  wall time of one step (tracking, fusion, assessment, warning)
step_lag_seconds                   gauge      how late the last step started on the node clock
detections_total{kind}             counter    own detections taken in (radar, ir)
tracks_held                        gauge      system tracks in the picture after the last step
own_tracks                         gauge      the node's own (national) tracks after the last step
messages_published_total{kind}     counter    messages stored in the outbox, by message class
messages_received_total{sender,    counter    partner messages accepted, by sender and class
  kind}
messages_rejected_total{reason}    counter    partner messages refused, by admission reason (read from the
                                              transport at scrape time)
publish_failures_total             counter    attempts to store a step's messages that failed (retried)
link_up{partner}                   gauge      1 while the partner was heard within the link timeout, else 0
cap_messages_total{status}         counter    CAP messages issued (Actual or Exercise)
output_errors_total{kind}          counter    failed writes to the output folder (cap, cot, tracks, events;
                                              read from the output sink at scrape time)
cap_queued                         gauge      CAP documents waiting to be written (the folder fails)
outputs_failing                    gauge      1 while the output folder fails (or CAP documents wait), else 0
partner_messages_total{partner,    counter    partner messages by what the per-partner budget did with them:
  outcome}                                    applied, deferred, dropped_stale, dropped_overflow; and
                                              tracks_refused (new tracks over partner_max_tracks) (read
                                              from NationalNode.partner_budget_counts at scrape time)
partner_waiting{partner}           gauge      partner messages waiting for a later step's budget
recv_epoch_changes_total           counter    accepted messages that started a sender's new epoch (a partner
                                              restarted on a lost disk; read from the transport)
=================================  =========  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

STEP_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _RejectCollector:
    """Reject counters kept by the share admission, exposed as they are when scraped."""

    def __init__(self, nation: str, read: Callable[[], Mapping[str, int]]) -> None:
        self.nation = nation
        self.read = read

    def collect(self):
        family = CounterMetricFamily("triwarn_node_messages_rejected", "Partner messages refused, by reason",
                                     labels=["nation", "reason"])
        for reason, n in sorted(self.read().items()):
            family.add_metric([self.nation, reason], float(n))
        yield family


class _OutputCollector:
    """The output sink's fault counters and queue (NodeRunner.outputs_status), read when scraped."""

    def __init__(self, nation: str, read: Callable[[], Mapping]) -> None:
        self.nation = nation
        self.read = read

    def collect(self):
        status = self.read()
        errors = CounterMetricFamily("triwarn_node_output_errors", "Failed writes to the output folder, by kind",
                                     labels=["nation", "kind"])
        for kind, n in sorted(status.get("errors", {}).items()):
            errors.add_metric([self.nation, kind], float(n))
        yield errors
        queued = GaugeMetricFamily("triwarn_node_cap_queued", "CAP documents waiting to be written",
                                   labels=["nation"])
        queued.add_metric([self.nation], float(status.get("cap_queued", 0)))
        yield queued
        failing = GaugeMetricFamily("triwarn_node_outputs_failing", "1 while the output folder fails",
                                    labels=["nation"])
        failing.add_metric([self.nation], 0.0 if status.get("state", "ok") == "ok" else 1.0)
        yield failing


class _PartnerCollector:
    """Per-partner budget counts (NationalNode.partner_budget_counts) and the transport's epoch changes,
    read when scraped."""

    def __init__(self, nation: str, budgets: Callable[[], Mapping[str, Mapping[str, int]]] | None,
                 epoch_changes: Callable[[], int] | None) -> None:
        self.nation = nation
        self.budgets = budgets
        self.epoch_changes = epoch_changes

    def collect(self):
        if self.budgets is not None:
            counts = self.budgets()
            msgs = CounterMetricFamily("triwarn_node_partner_messages",
                                       "Partner messages by what the per-partner budget did with them",
                                       labels=["nation", "partner", "outcome"])
            waiting = GaugeMetricFamily("triwarn_node_partner_waiting", "Partner messages waiting for a later step",
                                        labels=["nation", "partner"])
            for partner, c in sorted(counts.items()):
                for outcome, n in sorted(c.items()):
                    if outcome != "waiting":
                        msgs.add_metric([self.nation, partner, outcome], float(n))
                waiting.add_metric([self.nation, partner], float(c.get("waiting", 0)))
            yield msgs
            yield waiting
        if self.epoch_changes is not None:
            epochs = CounterMetricFamily("triwarn_node_recv_epoch_changes",
                                         "Accepted messages that started a sender's new epoch", labels=["nation"])
            epochs.add_metric([self.nation], float(self.epoch_changes()))
            yield epochs


class NodeMetrics:
    """The node's metrics; `render()` gives the Prometheus text exposition."""

    def __init__(self, nation: str, rejects: Callable[[], Mapping[str, int]],
                 outputs: Callable[[], Mapping] | None = None, *,
                 budgets: Callable[[], Mapping[str, Mapping[str, int]]] | None = None,
                 epoch_changes: Callable[[], int] | None = None) -> None:
        self.nation = nation
        r = self.registry = CollectorRegistry()
        p = "triwarn_node_"
        n = ["nation"]
        self.steps = Counter(p + "steps", "Steps run", n, registry=r).labels(nation)
        self.steps_skipped = Counter(p + "steps_skipped", "Clock steps skipped while behind", n,
                                     registry=r).labels(nation)
        self.step_duration = Histogram(p + "step_duration_seconds", "Wall time of one step", n,
                                       buckets=STEP_BUCKETS_S, registry=r).labels(nation)
        self.step_lag = Gauge(p + "step_lag_seconds", "How late the last step started (node clock)", n,
                              registry=r).labels(nation)
        self.detections = Counter(p + "detections", "Own detections taken in", [*n, "kind"], registry=r)
        self.tracks_held = Gauge(p + "tracks_held", "System tracks after the last step", n,
                                 registry=r).labels(nation)
        self.own_tracks = Gauge(p + "own_tracks", "Own national tracks after the last step", n,
                                registry=r).labels(nation)
        self.published = Counter(p + "messages_published", "Messages stored in the outbox", [*n, "kind"],
                                 registry=r)
        self.received = Counter(p + "messages_received", "Partner messages accepted", [*n, "sender", "kind"],
                                registry=r)
        self.publish_failures = Counter(p + "publish_failures", "Failed (retried) attempts to store messages",
                                        n, registry=r).labels(nation)
        self.link_up = Gauge(p + "link_up", "1 while the partner is heard within the link timeout", [*n, "partner"],
                             registry=r)
        self.cap_messages = Counter(p + "cap_messages", "CAP messages issued", [*n, "status"], registry=r)
        r.register(_RejectCollector(nation, rejects))
        if outputs is not None:
            r.register(_OutputCollector(nation, outputs))
        if budgets is not None or epoch_changes is not None:
            r.register(_PartnerCollector(nation, budgets, epoch_changes))

    def render(self) -> bytes:
        return generate_latest(self.registry)
