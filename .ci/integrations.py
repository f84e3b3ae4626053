#!/usr/bin/env python3
"""The lint's CI integrations, checked with the real clients.

- the GitHub Action (action.yml): its YAML parses, and its `run:` steps run here as a runner would
  run them (inputs, GITHUB_OUTPUT, GITHUB_PATH, step conditions), on a sample package with a finding
  and a clean one; the annotations follow GitHub's workflow-command grammar; the SARIF it hands to
  the upload step exists and validates;
- the GitLab CI template (.gitlab/vnet-lint.yml): its scripts run as a job would, installing the lint
  from this repository at HEAD; the Code Quality report has the required fields, unique fingerprints,
  and the same fingerprints after a line is inserted above the findings;
- the pre-commit hook (.pre-commit-hooks.yaml): `pre-commit` validates it, and runs it on a sample
  repository with a finding (fails) and a clean one (passes), from `try-repo` and from a config;
- `--message-format junit`: junitparser reads it with the right counts;
- `--message-format sarif`: validates against the SARIF 2.1.0 schema (jsonschema) and sarif-tools
  reads it.

Needs: pip install pre-commit junitparser sarif-tools jsonschema pyyaml; cargo; git.
Prints `N passed, M failed` last; exits 1 when any check failed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import junitparser
import yaml

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900  # seconds for one command (the release build of the lint is the longest)

FINDING_LIB = """use std::sync::atomic::AtomicU64;

static mut HITS: u32 = 0;
pub static TOTAL: AtomicU64 = AtomicU64::new(0);
"""
CLEAN_LIB = """pub const LIMIT: u32 = 8;

pub fn limit() -> u32 {
    LIMIT
}
"""

results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    if ok:
        results["passed"] += 1
        print(f"ok    {name}")
    else:
        results["failed"] += 1
        print(f"FAIL  {name}")
        if detail:
            print("      " + str(detail).replace("\n", "\n      "))
    return ok


def run(cmd, cwd, env=None, input_text=None):
    """Runs a command; returns (status, stdout, stderr)."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return proc.returncode, proc.stdout, proc.stderr


def git(args, cwd):
    status, out, err = run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "-c", "commit.gpgsign=false"]
        + args,
        cwd,
    )
    if status != 0:
        raise RuntimeError(f"git {args} failed: {err}")
    return out.strip()


def make_package(parent, name, lib):
    """A git repository holding one cargo package with `lib` as src/lib.rs."""
    repo = Path(parent) / name
    (repo / "src").mkdir(parents=True)
    (repo / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
    )
    (repo / "src" / "lib.rs").write_text(lib)
    git(["init", "-q"], repo)
    git(["add", "-A"], repo)
    git(["commit", "-qm", "sample"], repo)
    return repo


# --- GitHub workflow commands -------------------------------------------------------------------

PROPERTY = r"[A-Za-z]+=(?:[^,:\r\n%]|%25|%0D|%0A|%3A|%2C)*"
COMMAND = re.compile(
    r"^::(error|warning|notice|debug)(?: " + PROPERTY + r"(?:," + PROPERTY + r")*)?::"
    r"(?:[^\r\n%]|%25|%0D|%0A)*$"
)


def workflow_commands(text):
    return [line for line in text.splitlines() if line.startswith("::")]


def check_commands(name, text, expected):
    lines = workflow_commands(text)
    bad = [line for line in lines if not COMMAND.match(line)]
    check(f"{name}: {len(lines)} workflow commands follow GitHub's grammar", not bad, bad)
    check(f"{name}: one command per finding ({expected})", len(lines) == expected, text)
    for line in lines:
        props = dict(p.split("=", 1) for p in line[2:].split("::", 1)[0].split(" ", 1)[1].split(","))
        if not {"file", "line", "col", "endLine", "endColumn", "title"} <= props.keys():
            check(f"{name}: properties of {line}", False, props)
            return
        if not re.match(r"^VN\d{3} [a-z-]+$", props["title"].replace("%3A", ":")):
            check(f"{name}: title of {line}", False)
            return
    check(f"{name}: every command has file, line, col, endLine, endColumn and a VNxxx title", True)


# --- SARIF ----------------------------------------------------------------------------------------

SARIF_SCHEMA = json.loads((ROOT / "vnet-lint/tests/schemas/sarif-schema-2.1.0.json").read_text())


def check_sarif(name, path, expected_results):
    try:
        log = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        check(f"{name}: SARIF is JSON", False, error)
        return
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = [f"{e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(log)]
    check(f"{name}: SARIF validates against the 2.1.0 schema", not errors, "\n".join(errors[:10]))
    status, out, err = run(["sarif", "summary", str(path)], cwd=Path(path).parent)
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(error|warning|note): (\d+)$", out, re.M)}
    check(
        f"{name}: sarif-tools reads {expected_results} results",
        status == 0 and sum(counts.values()) == expected_results,
        out + err,
    )


# --- the GitHub Action ----------------------------------------------------------------------------


def expression(text, ctx):
    """Evaluates a GitHub expression of the kinds action.yml uses: context paths, string literals,
    ==, !=, && and ||."""

    def value(path):
        node = ctx
        for part in path.split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        return node

    tokens = re.findall(r"'(?:[^']|'')*'|==|!=|&&|\|\||\(|\)|[A-Za-z_][\w.-]*", text)
    py = []
    for token in tokens:
        if token.startswith("'"):
            py.append(repr(token[1:-1].replace("''", "'")))
        elif token == "&&":
            py.append("and")
        elif token == "||":
            py.append("or")
        elif token in ("==", "!=", "(", ")"):
            py.append(token)
        elif token in ("true", "false"):
            py.append(token.capitalize())
        else:
            py.append(repr(value(token)))
    return eval(" ".join(py), {"__builtins__": {}}, {})  # noqa: S307 -- our own tokens only


def substitute(text, ctx):
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: str(expression(m.group(1), ctx)), str(text))


def run_action(action, inputs, workspace, runner_temp, base_env):
    """Runs the composite action's steps as the runner does. Returns a list of
    (step name, status or None when skipped, stdout, uses+with for `uses` steps)."""
    values = {key: str(spec.get("default", "")) for key, spec in action["inputs"].items()}
    values.update(inputs)
    ctx = {"inputs": values, "steps": {}, "github": {"action_path": str(ROOT)}}
    env = dict(base_env)
    env.update(
        {
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_ACTIONS": "true",
        }
    )
    failed = False
    report = []
    for index, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {index}")
        condition = step.get("if")
        if condition is not None:
            condition = re.sub(r"^\$\{\{\s*(.*?)\s*\}\}$", r"\1", str(condition).strip())
            wanted = (not failed) and bool(expression(condition, ctx))
        else:
            wanted = not failed
        if not wanted:
            report.append((name, None, "", None))
            continue
        if "uses" in step:
            with_ = {k: substitute(v, ctx) for k, v in step.get("with", {}).items()}
            report.append((name, 0, "", (step["uses"], with_)))
            continue
        output_file = Path(runner_temp) / f"output-{index}"
        path_file = Path(runner_temp) / f"path-{index}"
        output_file.write_text("")
        path_file.write_text("")
        step_env = dict(env)
        step_env.update({k: substitute(v, ctx) for k, v in step.get("env", {}).items()})
        step_env["GITHUB_OUTPUT"] = str(output_file)
        step_env["GITHUB_PATH"] = str(path_file)
        cwd = Path(workspace) / substitute(step.get("working-directory", "."), ctx)
        script = Path(runner_temp) / f"step-{index}.sh"
        script.write_text(step["run"])
        # GitHub runs `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`.
        status, out, err = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd, step_env)
        outputs = {}
        for line in output_file.read_text().splitlines():
            if "=" in line:
                key, val = line.split("=", 1)
                outputs[key] = val
        if "id" in step:
            ctx["steps"][step["id"]] = {"outputs": outputs}
        for line in path_file.read_text().splitlines():
            env["PATH"] = line + os.pathsep + env["PATH"]
        report.append((name, status, out + err, None))
        failed = failed or status != 0
    return report, env


def check_action(tmp, base_env):
    text = (ROOT / "action.yml").read_text()
    action = yaml.safe_load(text)
    check("action.yml parses as YAML", isinstance(action, dict))
    check("action.yml is a composite action", action.get("runs", {}).get("using") == "composite")
    for key in ("args", "fail-on", "format", "sarif-file"):
        check(f"action.yml has the input `{key}`", key in action.get("inputs", {}))
    uses = [s.get("uses", "") for s in action["runs"]["steps"]]
    check(
        "action.yml uploads SARIF with github/codeql-action/upload-sarif",
        any(u.startswith("github/codeql-action/upload-sarif@") for u in uses),
    )

    finding = make_package(tmp, "gh-finding", FINDING_LIB)
    clean = make_package(tmp, "gh-clean", CLEAN_LIB)
    runner_temp = Path(tmp) / "runner-temp"
    runner_temp.mkdir()

    def statuses(report):
        return {name: status for name, status, _, _ in report}

    # A package with two findings, SARIF asked for.
    report, env = run_action(action, {"sarif-file": "vnet-lint.sarif"}, finding, runner_temp, base_env)
    names = [r[0] for r in report]
    install, lint, upload, decide = report
    check("action: the install step builds and installs cargo-vnet-lint", install[1] == 0, install[2][-3000:])
    check("action: the lint step runs", lint[1] == 0, lint[2])
    check_commands("action annotations", lint[2], 2)
    check(
        "action: annotations name the file from the repository root",
        "::error file=src/lib.rs,line=3,col=8" in lint[2],
        lint[2],
    )
    check(
        "action: the upload step gets the SARIF file",
        upload[1] == 0 and upload[3] is not None and upload[3][1].get("sarif_file") == "./vnet-lint.sarif",
        upload,
    )
    check_sarif("action SARIF", finding / "vnet-lint.sarif", 2)
    check("action: findings fail the job (fail-on: error)", decide[1] == 1, decide[2])
    bin_dirs = [line for line in env["PATH"].split(os.pathsep) if str(runner_temp) in line]
    check("action: the install step puts the lint on PATH (GITHUB_PATH)", len(bin_dirs) == 1, names)

    report, _ = run_action(action, {"fail-on": "never"}, finding, runner_temp, base_env)
    check("action: fail-on never passes with findings", statuses(report)["Decide the outcome (fail-on)"] == 0, report)
    check("action: no SARIF asked, no upload", report[2][1] is None, report[2])

    warn = {"args": "-W static-mut -W interior-mutable-static"}
    report, _ = run_action(action, warn, finding, runner_temp, base_env)
    check("action: warnings only pass with fail-on error", report[3][1] == 0, report[3][2])
    check_commands("action warning annotations", report[1][2], 2)
    check("action: warnings are ::warning commands", report[1][2].count("::warning ") == 2, report[1][2])
    report, _ = run_action(action, dict(warn, **{"fail-on": "warning"}), finding, runner_temp, base_env)
    check("action: warnings fail with fail-on warning", report[3][1] == 1, report[3][2])

    report, _ = run_action(action, {"sarif-file": "vnet-lint.sarif"}, clean, runner_temp, base_env)
    check("action: a clean package passes every step", [r[1] for r in report] == [0, 0, 0, 0], report)
    check("action: a clean package prints no annotation", not workflow_commands(report[1][2]), report[1][2])
    check_sarif("action SARIF (clean)", clean / "vnet-lint.sarif", 0)

    report, _ = run_action(action, {"args": "src/missing.rs", "fail-on": "never"}, clean, runner_temp, base_env)
    check(
        "action: an input problem fails the lint step whatever fail-on says",
        report[1][1] == 2 and report[3][1] is None,
        report,
    )
    report, _ = run_action(action, {"fail-on": "sometimes"}, clean, runner_temp, base_env)
    check("action: an unknown fail-on is refused", report[3][1] == 2, report[3])
    return bin_dirs[0] if bin_dirs else None


# --- GitLab ---------------------------------------------------------------------------------------

SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def check_code_quality(name, path, repo, expected):
    try:
        issues = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        check(f"{name}: the report is JSON", False, error)
        return []
    ok = isinstance(issues, list) and len(issues) == expected
    check(f"{name}: the report is an array of {expected} issues", ok, issues)
    if not ok:
        return []
    problems = []
    for issue in issues:
        for field in ("description", "check_name", "fingerprint", "severity"):
            if not isinstance(issue.get(field), str) or not issue[field]:
                problems.append(f"{field} missing in {issue}")
        if issue.get("severity") not in SEVERITIES:
            problems.append(f"severity {issue.get('severity')}")
        location = issue.get("location", {})
        rel = location.get("path", "")
        if not rel or rel.startswith("/") or not (Path(repo) / rel).is_file():
            problems.append(f"location.path {rel!r} is not a file relative to the repository")
        begin = location.get("lines", {}).get("begin")
        if not isinstance(begin, int) or begin < 1:
            problems.append(f"location.lines.begin {begin!r}")
    check(f"{name}: every issue has GitLab's Code Quality fields", not problems, "\n".join(problems))
    fingerprints = [i["fingerprint"] for i in issues]
    check(f"{name}: fingerprints are unique", len(set(fingerprints)) == len(fingerprints), fingerprints)
    return issues


def check_gitlab(tmp, base_env):
    template = yaml.safe_load((ROOT / ".gitlab/vnet-lint.yml").read_text())
    job = template.get("vnet-lint", {})
    report_name = job.get("variables", {}).get("VNET_LINT_REPORT")
    check(
        "GitLab template: the job publishes a codequality report",
        job.get("artifacts", {}).get("reports", {}).get("codequality") == report_name and report_name,
        job.get("artifacts"),
    )
    head = git(["rev-parse", "HEAD"], ROOT)
    repo = make_package(tmp, "gl-finding", FINDING_LIB)
    env = dict(base_env)
    env.update({k: str(v) for k, v in job["variables"].items()})
    env.update(
        {
            "CI_PROJECT_DIR": str(repo),
            "VNET_LINT_GIT": f"file://{ROOT}",
            "VNET_LINT_REV": head,
            "CARGO_INSTALL_ROOT": str(Path(tmp) / "gitlab-cargo"),
        }
    )
    env["PATH"] = str(Path(tmp) / "gitlab-cargo" / "bin") + os.pathsep + env["PATH"]

    def job_script(lines):
        # The runner joins a job's lines into one script run with `set -eo pipefail`.
        return "set -eo pipefail\n" + "\n".join(lines) + "\n"

    status, out, err = run(["bash", "-c", job_script(job["before_script"] + job["script"])], repo, env)
    check("GitLab job: installs the lint from this repository at HEAD and fails on findings", status == 1, out + err[-3000:])
    before = check_code_quality("GitLab report", repo / report_name, repo, 2)
    check("GitLab job: the log shows the findings", "error[VN101]" in out, out)

    # A line inserted above the findings: same fingerprints, lines one further down.
    lib = repo / "src" / "lib.rs"
    lib.write_text("//! A sample crate.\n" + lib.read_text())
    status, out, err = run(["bash", "-c", job_script(job["script"])], repo, env)
    after = check_code_quality("GitLab report after an inserted line", repo / report_name, repo, 2)
    if before and after:
        check(
            "GitLab report: fingerprints are stable when a line is inserted above",
            [i["fingerprint"] for i in before] == [i["fingerprint"] for i in after],
            (before, after),
        )
        check(
            "GitLab report: the lines moved down by one",
            [i["location"]["lines"]["begin"] + 1 for i in before]
            == [i["location"]["lines"]["begin"] for i in after],
        )
    # Run again: the same report.
    again_status, _, _ = run(["bash", "-c", job_script(job["script"])], repo, env)
    again = json.loads((repo / report_name).read_text())
    check("GitLab report: a second run gives the same report", again == after and again_status == 1)

    clean = make_package(tmp, "gl-clean", CLEAN_LIB)
    env["CI_PROJECT_DIR"] = str(clean)
    status, out, err = run(["bash", "-c", job_script(job["script"])], clean, env)
    check("GitLab job: a clean package passes", status == 0, out + err)
    check_code_quality("GitLab report (clean)", clean / report_name, clean, 0)
    env["VNET_LINT_ALLOW_FAILURE"] = "true"
    env["CI_PROJECT_DIR"] = str(repo)
    status, out, err = run(["bash", "-c", job_script(job["script"])], repo, env)
    check("GitLab job: VNET_LINT_ALLOW_FAILURE keeps findings from failing it", status == 0, out + err)


# --- pre-commit -----------------------------------------------------------------------------------


def check_pre_commit(tmp, base_env):
    env = dict(base_env)
    env["PRE_COMMIT_HOME"] = str(Path(tmp) / "pre-commit-home")
    status, out, err = run(["pre-commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")], ROOT, env)
    check("pre-commit validates .pre-commit-hooks.yaml", status == 0, out + err)

    finding = make_package(tmp, "pc-finding", FINDING_LIB)
    clean = make_package(tmp, "pc-clean", CLEAN_LIB)
    status, out, err = run(["pre-commit", "try-repo", str(ROOT), "vnet-lint", "--all-files"], finding, env)
    check("pre-commit try-repo: the hook fails a repository with a finding", status == 1 and "VN101" in out, out + err)
    status, out, err = run(["pre-commit", "try-repo", str(ROOT), "vnet-lint", "--all-files"], clean, env)
    check("pre-commit try-repo: the hook passes a clean repository", status == 0 and "Passed" in out, out + err)

    # As users write it: a config naming this repository at a commit.
    head = git(["rev-parse", "HEAD"], ROOT)
    for repo, want in ((finding, 1), (clean, 0)):
        (repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n      - id: vnet-lint\n"
        )
        git(["add", ".pre-commit-config.yaml"], repo)
        status, out, err = run(["pre-commit", "run", "--all-files"], repo, env)
        check(f"pre-commit run with a config: {repo.name} exits {want}", status == want, out + err)
    # A commit of a Rust file runs it (the hook's `files` pattern matches).
    (finding / "src" / "more.rs").write_text("pub static mut MORE: u8 = 0;\n")
    git(["add", "src/more.rs"], finding)
    status, out, err = run(["pre-commit", "run"], finding, env)
    check("pre-commit run on staged files: a staged .rs file triggers the hook", status == 1 and "vnet-lint" in out, out + err)


# --- JUnit ----------------------------------------------------------------------------------------


def check_junit(tmp, lint):
    src = Path(tmp) / "junit"
    src.mkdir()
    (src / "clean.rs").write_text(CLEAN_LIB)
    (src / "one.rs").write_text("static mut HITS: u32 = 0;\n")
    (src / "two.rs").write_text(FINDING_LIB)
    status, out, err = run([lint, "check", "--message-format", "junit", "."], src)
    check("junit: the lint exits 1 for findings", status == 1, err)
    path = src / "report.xml"
    path.write_text(out)
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    check("junit: one testsuite", len(suites) == 1, out)
    suite = suites[0]
    cases = list(suite)
    check("junit: tests=3 failures=2 errors=0", (suite.tests, suite.failures, suite.errors) == (3, 2, 0), out)
    check("junit: one testcase per file", sorted(c.name for c in cases) == ["clean.rs", "one.rs", "two.rs"], out)
    failures = {c.name: [r for r in c.result if isinstance(r, junitparser.Failure)] for c in cases}
    check(
        "junit: the clean file passes, the others carry one failure each",
        [len(failures[n]) for n in ("clean.rs", "one.rs", "two.rs")] == [0, 1, 1],
        failures,
    )
    two = failures["two.rs"][0] if failures["two.rs"] else None
    check(
        "junit: a failure lists every finding of its file",
        two is not None and two.text.count("two.rs:") == 2 and "VN101" in two.text and "VN102" in two.text,
        two.text if two is not None else out,
    )


def main():
    tmp = tempfile.mkdtemp(prefix="vnet-lint-ci-")
    base_env = dict(os.environ)
    base_env.pop("CI_PROJECT_DIR", None)
    # One target directory for every build of the lint (the action's, the GitLab job's).
    base_env.setdefault("CARGO_TARGET_DIR", str(ROOT / "target" / "ci-integrations"))
    base_env["NO_COLOR"] = "1"
    try:
        bin_dir = check_action(tmp, base_env)
        if bin_dir is None:
            check("the action installed the lint (later checks need it)", False)
            return
        base_env["PATH"] = bin_dir + os.pathsep + base_env["PATH"]
        lint = str(Path(bin_dir) / "cargo-vnet-lint")
        check_junit(tmp, lint)
        sarif = Path(tmp) / "fixtures.sarif"
        status, out, _ = run(
            [lint, "check", "--message-format", "sarif", "fixtures/rules/static_mut/flagged.rs",
             "fixtures/rules/interior_mutable_static/flagged.rs"],
            ROOT,
        )
        sarif.write_text(out)
        expected = len(json.loads(out)["runs"][0]["results"])
        check_sarif("fixtures SARIF (with fixes)", sarif, expected)
        check_pre_commit(tmp, base_env)
        check_gitlab(tmp, base_env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"\n{results['passed']} passed, {results['failed']} failed")


if __name__ == "__main__":
    main()
    sys.exit(1 if results["failed"] else 0)
