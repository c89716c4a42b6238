"""Benchmark: `kvnb audit` on a large vault at Key Vault's throttle, against a sequential sync loop.

    python bench/bench_audit.py [--secrets 5000] [--assignments 500] [--groups 20] [--sample 150]

Seeds, through the store (not the API), a local vault with N secrets of 1-5 versions (3 on
average), the seed's team plus G groups and A role assignments; starts it as a background process
(as `kvnb local start` does) with 20 ms injected latency and the real throttle (4,000 requests per
10 s per vault); then measures, in the same run:

* the full audit (secrets, version counts, role assignments, principals, reviews, findings):
  wall time, requests sent, 429s received, and when the first results (first page of secrets,
  role assignments, reviews) arrived;
* the throttle-bound minimum: requests / 400 per second;
* a sequential loop over the sync SDK doing the same reads. Listing every secret is timed in
  full; version counts are timed on a sample of --sample secrets and extrapolated linearly to
  all N (said so in the output); the control-plane and directory reads are timed in full.

Goals (issue 8): audit <= 1.3 x the throttle-bound minimum, >= 8 x faster than the sequential
loop, first results within 3 s. The client runs on the same 2 cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets as random_source
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LATENCY_MS = 20
VERSIONS = (1, 2, 3, 4, 5)  # cycled: 3 versions on average


def seed(home: str, secrets: int, assignments: int, groups: int) -> dict:
    from kvnb.local.identity import roles
    from kvnb.local.seed import scenario
    from kvnb.local.state.assignments import create_assignment
    from kvnb.local.state.directory import Directory
    from kvnb.local.state.paths import StatePaths
    from kvnb.local.state.secrets import set_secret
    from kvnb.local.state.store import Store

    store = Store(StatePaths.resolve(home))
    scenario.reset(store, first_port=0)
    if store.db.execute("SELECT 1 FROM graph_review_definitions LIMIT 1").fetchone() is None:
        from kvnb.local.seed.governance import seed_governance  # the seed's reviews, if reset has not laid them

        seed_governance(store, Directory(store))
    vault, scope = scenario.FIRST_VAULT, scenario.vault_scope(store)
    began = time.perf_counter()
    versions = 0
    with store.transaction():  # one transaction: 15,000 fsyncs would take longer than the audit
        for index in range(secrets):
            for _ in range(VERSIONS[index % len(VERSIONS)]):
                set_secret(
                    store,
                    vault,
                    f"bench-{index:05d}",
                    random_source.token_urlsafe(16),
                    content_type="text/plain",
                    exp=store.now() + 90 * 86400 if index % 2 else None,
                )
                versions += 1
        directory = Directory(store)
        users = [directory.create_user(f"bench-user-{i:03d}", f"Bench User {i}").id for i in range(200)]
        made = 0
        for g in range(groups):
            group = directory.create_group(f"bench-group-{g:02d}", f"{vault}_bench_{g:02d}")
            for member in users[g * 10 : (g + 1) * 10]:
                directory.add_member(group.id, member)
            create_assignment(store, scope, roles.KEY_VAULT_READER, group.id, "Group")
            made += 1
        secret_roles = (roles.KEY_VAULT_SECRETS_USER, roles.KEY_VAULT_SECRETS_OFFICER, roles.KEY_VAULT_READER)
        index = 0
        while made < assignments:
            user, role = users[index % len(users)], secret_roles[(index // len(users)) % len(secret_roles)]
            create_assignment(store, f"{scope}/secrets/bench-{index:05d}", role, user, "User")
            made += 1
            index += 1
    total_assignments = len(store.db.execute("SELECT name FROM role_assignments").fetchall())
    store.close()
    return {
        "secrets": secrets,
        "versions": versions,
        "assignments": total_assignments,
        "groups": groups,
        "seed_seconds": time.perf_counter() - began,
    }


def sequential_baseline(target, sample: int, total: int) -> dict:
    """The same reads, one after another, through the sync SDK and the sync control-plane code."""
    from kvnb.audit import AuditSettings, sources
    from kvnb.audit.collect import _kind
    from kvnb.audit.reviews import read_reviews

    client = target.secret_client
    began = time.perf_counter()
    names = [item.name for item in client.list_properties_of_secrets(max_page_size=25)]
    listing = time.perf_counter() - began
    chosen = names[:sample]
    began = time.perf_counter()
    for name in chosen:
        sum(1 for _ in client.list_properties_of_secret_versions(name, max_page_size=25))
    per_secret = (time.perf_counter() - began) / len(chosen)
    began = time.perf_counter()
    found = sources.read_assignments(target)
    groups = {str(a.principal_id).lower(): [] for a in found.items if _kind(a) == "Group"}
    sources.read_directory(target, {str(a.principal_id).lower() for a in found.items}, set(groups))
    read_reviews(target, groups, AuditSettings())
    control = time.perf_counter() - began
    return {
        "listing": listing,
        "per_secret": per_secret,
        "control": control,
        "sample": len(chosen),
        "total": listing + per_secret * total + control,
    }


def audit(target) -> dict:
    from kvnb.audit.collect import VaultAudit, iter_vault_audit

    seen: dict[str, float] = {}

    async def go():
        began = time.perf_counter()
        async for event in iter_vault_audit(target):
            if isinstance(event, VaultAudit):
                return event, time.perf_counter() - began
            seen.setdefault(event.stage, time.perf_counter() - began)
        raise RuntimeError("no result")

    result, seconds = asyncio.run(go())
    return {"result": result, "seconds": seconds, "stages": seen}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=5000)
    parser.add_argument("--assignments", type=int, default=500)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument(
        "--sample", type=int, default=150, help="secrets whose version counts the sequential loop times"
    )
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="kvnb-bench-audit-")
    os.environ["KVNB_HOME"] = home
    os.environ.pop("KVNB_PERSONA", None)
    from kvnb.local import control
    from kvnb.local.state.paths import StatePaths
    from kvnb.vault import open_vault

    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    seeded = seed(home, args.secrets, args.assignments, args.groups)
    print(
        f"seeded through the store in {seeded['seed_seconds']:.1f} s: {seeded['secrets']} secrets, "
        f"{seeded['versions']} versions, {seeded['assignments']} role assignments, {seeded['groups']} extra groups"
    )
    paths = StatePaths.resolve(home)
    control.start(paths, port=0, extra_args=["--latency-ms", str(LATENCY_MS), "--throttle", "on"])
    target = open_vault("local", persona="lead")
    try:
        baseline = sequential_baseline(target, args.sample, args.secrets)
        print(
            f"sequential sync SDK: list {baseline['listing']:.1f} s + {baseline['per_secret'] * 1000:.1f} ms per "
            f"secret's versions (timed on {baseline['sample']} secrets, extrapolated linearly to {args.secrets}) "
            f"+ control plane and directory {baseline['control']:.1f} s = {baseline['total']:.1f} s"
        )
        time.sleep(10.5)  # let the baseline's requests leave the vault's 10-second window
        run = audit(target)
        result = run["result"]
        minimum = result.requests / 400
        print(
            f"audit: {run['seconds']:.1f} s for {result.requests} paced requests ({result.throttled} answered 429); "
            f"{len(result.tables.secrets)} secrets, version counts for "
            f"{int(result.tables.secrets['version_count'].notna().sum())}, "
            f"{len(result.tables.role_assignments)} role assignment rows, {len(result.findings)} findings"
        )
        print("first results: " + ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in run["stages"].items()))
        ratio_min = run["seconds"] / minimum
        speedup = baseline["total"] / run["seconds"]
        first = run["stages"].get("secrets_first_page", float("inf"))
        print(
            f"throttle-bound minimum {minimum:.1f} s (requests / 400 per s): audit at {ratio_min:.2f} x "
            f"(goal <= 1.3) -> {'PASS' if ratio_min <= 1.3 else 'FAIL'}"
        )
        print(f"speed-up over the sequential loop: {speedup:.1f} x (goal >= 8) -> {'PASS' if speedup >= 8 else 'FAIL'}")
        print(f"first page of secrets after {first:.2f} s (goal <= 3) -> {'PASS' if first <= 3 else 'FAIL'}")
        ok = ratio_min <= 1.3 and speedup >= 8 and first <= 3
    finally:
        target.close()
        control.stop(paths)
        shutil.rmtree(home, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
