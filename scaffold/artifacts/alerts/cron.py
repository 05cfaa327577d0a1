"""CronJob alerts: a failed run and a last success older than the schedule allows."""

from __future__ import annotations

from ...conventions import CONTAINER, TICKET
from ...model.service import ServiceModel
from .common import NS_VAR, _escalation, _ns_sel, _rollback, _symptom, _with_cases
from .series import _series
from .types import CRON_MISSED_PERIODS, Alert


def _cron_failed(m: ServiceModel, ns: str) -> Alert:
    sel = f'{_ns_sel(m)},job_name=~"{m.name}-[0-9]+",condition="true"'
    jobs = f'{_ns_sel(m)},job_name=~"{m.name}-[0-9]+"'
    # kube-state-metrics reports a failed Job for as long as failedJobsHistoryLimit keeps it:
    # the alert ends when a run started after it has succeeded.
    expr = (f"max by (namespace, job_name) (kube_job_failed{{{sel}}}) > 0\n"
            f"unless on (namespace, job_name)\n"
            f"(max by (namespace, job_name) (kube_job_status_start_time{{{jobs}}})\n"
            f"  < on (namespace) group_left\n"
            f"  max by (namespace) (kube_cronjob_status_last_successful_time{{{_ns_sel(m)},cronjob=\"{m.name}\"}}))")
    a = _symptom(
        m, "CronJobFailed", TICKET, expr, "0m", f"{m.name}: a CronJob run failed",
        "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed.",
        {"meaning": "A run of the CronJob ended in the Failed condition (backoffLimit or activeDeadlineSeconds hit).",
         "impact": "That run's work was not done; the job-success SLO burns.",
         "diagnosis": f"```sh\nkubectl -n {NS_VAR} get jobs -l app.kubernetes.io/name={m.name}\nkubectl -n {NS_VAR} describe job <job>\nkubectl -n {NS_VAR} logs job/<job> -c {CONTAINER}\n```",
         "mitigation": f"Fix the cause, then re-run: `kubectl -n {NS_VAR} create job --from=cronjob/{m.name} {m.name}-manual`. A bad release:\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Failed runs", "expr": f"sum by (namespace) (kube_job_failed{{{sel}}})", "unit": "short"},
        "A failed run logs why it failed", ())
    lab = {"namespace": ns, "job_name": f"{m.name}-2"}
    failed = [_series("kube_job_failed", {**lab, "condition": "true"}, "1+0x10"),
              _series("kube_job_status_start_time", lab, "600+0x10")]
    success = _series("kube_cronjob_status_last_successful_time", {"namespace": ns, "cronjob": m.name}, "300+0x10")
    later = _series("kube_cronjob_status_last_successful_time", {"namespace": ns, "cronjob": m.name}, "900+0x10")
    return _with_cases(a, [("a Job failed after the last success", "1m", [*failed, success], "5m", lab, 1.0)],
                       [("the Job has not failed", "1m", [_series("kube_job_failed", {**lab, "condition": "true"}, "0+0x10")], "5m"),
                        ("a later run succeeded", "1m", [*failed, later], "5m")])


def _cron_stale(m: ServiceModel, ns: str) -> Alert:
    sel = f'{_ns_sel(m)},cronjob="{m.name}"'
    by = "namespace, cronjob"
    expr = (f"time() - max by ({by}) (kube_cronjob_status_last_successful_time{{{sel}}})\n"
            f"  > {CRON_MISSED_PERIODS} * max by ({by}) (kube_cronjob_next_schedule_time{{{sel}}} - kube_cronjob_status_last_schedule_time{{{sel}}})")
    a = _symptom(
        m, "CronJobLastSuccessTooOld", TICKET, expr, "5m", f"{m.name}: no successful run for {CRON_MISSED_PERIODS} periods",
        "CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} last succeeded {{ $value | humanizeDuration }} ago "
        f"(schedule {m.schedule!s}).",
        {"meaning": f"No run succeeded for {CRON_MISSED_PERIODS} schedule periods: runs fail, hang or are not scheduled.",
         "impact": "The job's output is stale for its consumers.",
         "diagnosis": f"```sh\nkubectl -n {NS_VAR} get cronjob {m.name} -o wide\nkubectl -n {NS_VAR} get jobs -l app.kubernetes.io/name={m.name}\n```\n\n"
                      f"```promql\ntime() - kube_cronjob_status_last_successful_time{{{sel}}}\n```",
         "mitigation": f"Unsuspend or fix the CronJob; trigger a run with `kubectl -n {NS_VAR} create job --from=cronjob/{m.name} {m.name}-manual`.\n\n" + _rollback(m),
         "escalation": _escalation(m, TICKET)},
        {"title": "Time since last success", "expr": f"time() - max by ({by}) (kube_cronjob_status_last_successful_time{{{sel}}})", "unit": "s"},
        "Consumers of the job's output know its freshness guarantee", ())
    lab = {"namespace": ns, "cronjob": m.name}

    def series(last_success: int) -> list[dict[str, str]]:
        return [_series("kube_cronjob_status_last_successful_time", lab, f"{last_success}+0x70"),
                _series("kube_cronjob_status_last_schedule_time", lab, "2700+0x70"),
                _series("kube_cronjob_next_schedule_time", lab, "3600+0x70")]

    return _with_cases(a, [("last success an hour ago, period 15m", "1m", series(0), "60m", lab, 3600.0)],
                       [("last success 15m ago", "1m", series(2700), "60m")])
