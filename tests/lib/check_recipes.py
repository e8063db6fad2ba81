"""Check the deployment recipes of docs/deploy/*.md and list the commands they run.

Usage: check_recipes.py DOCS_DIR OUT_DIR

Every ```yaml block is parsed (PyYAML) and checked as what its file says it is: a GitHub Actions
workflow, a .gitlab-ci.yml, Kubernetes CronJob and Job manifests. Every ```ini block of
systemd.md is parsed as a unit file and written to OUT_DIR/units/ for systemd-analyze. The
shell command lines they run are written to OUT_DIR/commands.tsv as FILE<TAB>KIND<TAB>COMMAND,
in document order (KIND: github, github-matrix:N, gitlab, gitlab-parallel:N, k8s,
k8s-indexed:N, systemd). Problems are printed one a line as "FILE: problem"; the exit code is 1
when there are any.
"""
import configparser
import os
import re
import shlex
import sys

import yaml

problems = []


def problem(path, msg):
    problems.append(f"{path}: {msg}")


def blocks(path, lang):
    text = open(path, encoding="utf-8").read()
    return re.findall(r"^```" + lang + r"\n(.*?)^```", text, re.S | re.M)


def run_lines(script):
    """Shell lines of a script: a string (several lines) or a list of strings."""
    if isinstance(script, str):
        script = [script]
    out = []
    for s in script or []:
        for line in str(s).splitlines():
            if line.strip() and not line.strip().startswith("#"):
                out.append(line.strip())
    return out


def github(path, docs, commands):
    for doc in docs:
        # YAML 1.1 reads the key `on` as true.
        if not isinstance(doc, dict) or "jobs" not in doc or not (True in doc or "on" in doc):
            problem(path, "a workflow needs `on` and `jobs`")
            continue
        for name, job in doc["jobs"].items():
            if "runs-on" not in job or not isinstance(job.get("steps"), list):
                problem(path, f"job {name}: needs runs-on and a list of steps")
                continue
            for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
                if need not in doc["jobs"]:
                    problem(path, f"job {name}: needs unknown job {need}")
            shards = (job.get("strategy") or {}).get("matrix", {}).get("shard")
            kind = f"github-matrix:{len(shards)}" if shards else "github"
            for step in job["steps"]:
                if ("run" in step) == ("uses" in step):
                    problem(path, f"job {name}: a step needs run or uses, not both")
                if "uses" in step and not re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]):
                    problem(path, f"job {name}: uses {step['uses']!r} is not owner/action@vN")
                for line in run_lines(step.get("run")):
                    commands.append((kind, line))


def gitlab(path, docs, commands):
    for doc in docs:
        stages = doc.get("stages")
        if not isinstance(stages, list):
            problem(path, "a .gitlab-ci.yml needs stages")
            continue
        for name, job in doc.items():
            if name in ("stages", "variables", "default") or name.startswith("."):
                continue
            base = doc.get(job.get("extends"), {}) if job.get("extends") else {}
            if job.get("extends") and job["extends"] not in doc:
                problem(path, f"job {name}: extends unknown {job['extends']}")
            if job.get("stage") not in stages:
                problem(path, f"job {name}: stage {job.get('stage')!r} is not in stages")
            if not isinstance(job.get("script"), list):
                problem(path, f"job {name}: needs a script list")
            image = job.get("image", base.get("image"))
            if not image or (isinstance(image, dict) and image.get("entrypoint") != [""]):
                problem(path, f"job {name}: the pgfleet image needs entrypoint [\"\"] to run a script")
            kind = f"gitlab-parallel:{job['parallel']}" if job.get("parallel") else "gitlab"
            for key in ("script", "after_script"):
                for line in run_lines(job.get(key)):
                    commands.append((kind, line))


def pod_spec(path, name, spec):
    if spec.get("restartPolicy") not in ("Never", "OnFailure"):
        problem(path, f"{name}: a Job's pod needs restartPolicy Never or OnFailure")
    containers = spec.get("containers") or []
    if not containers:
        problem(path, f"{name}: no container")
    mounts_ok = {v["name"] for v in spec.get("volumes", [])}
    for c in containers:
        for m in c.get("volumeMounts", []):
            if m["name"] not in mounts_ok:
                problem(path, f"{name}: volumeMount {m['name']} names no volume")
    return containers


def k8s_command(container):
    cmd, args = container.get("command"), container.get("args") or []
    if cmd == ["sh", "-c"]:
        return args[0]
    if cmd:
        return shlex.join(cmd + args)
    return "pgfleet " + shlex.join(args)  # the image's ENTRYPOINT


def kubernetes(path, docs, commands):
    for doc in docs:
        kind, name = doc.get("kind"), (doc.get("metadata") or {}).get("name")
        if doc.get("apiVersion") != "batch/v1" or kind not in ("CronJob", "Job") or not name:
            problem(path, f"{name}: needs apiVersion batch/v1, kind CronJob or Job, a name")
            continue
        if kind == "CronJob":
            if len(str(doc["spec"].get("schedule", "")).split()) != 5:
                problem(path, f"{name}: schedule is not five cron fields")
            job = doc["spec"]["jobTemplate"]["spec"]
        else:
            job = doc["spec"]
        for c in pod_spec(path, name, job["template"]["spec"]):
            line = k8s_command(c)
            if job.get("completionMode") == "Indexed":
                n = job.get("completions")
                if job.get("parallelism") != n:
                    problem(path, f"{name}: parallelism should be completions ({n})")
                if f"--shard $(JOB_COMPLETION_INDEX)/{n}" not in " ".join(c.get("args") or []):
                    problem(path, f"{name}: args need --shard $(JOB_COMPLETION_INDEX)/{n}")
                commands.append((f"k8s-indexed:{n}", line))
            else:
                commands.append(("k8s", line))


def systemd(path, out_dir, commands):
    os.makedirs(os.path.join(out_dir, "units"), exist_ok=True)
    for text in blocks(path, "ini"):
        unit = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
        unit.optionxform = str
        try:
            unit.read_string(text)
        except configparser.Error as e:
            problem(path, f"not a unit file: {e}")
            continue
        if unit.has_section("Service"):
            svc = unit["Service"]
            if svc.get("Type") != "oneshot" or not svc.get("ExecStart", "").startswith("/usr/bin/pgfleet "):
                problem(path, "the service must be oneshot and run /usr/bin/pgfleet")
            commands.append(("systemd", svc["ExecStart"]))
            file = "pgfleet-audit.service"
        elif unit.has_section("Timer"):
            if not unit["Timer"].get("OnCalendar"):
                problem(path, "the timer needs OnCalendar")
            file = "pgfleet-audit.timer"
        else:
            problem(path, "a unit with neither [Service] nor [Timer]")
            continue
        with open(os.path.join(out_dir, "units", file), "w") as f:
            f.write(text)


def main():
    docs_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    checks = {"github-actions.md": github, "gitlab-ci.md": gitlab, "kubernetes.md": kubernetes}
    rows = []
    for file in sorted(os.listdir(docs_dir)):
        path = os.path.join(docs_dir, file)
        commands = []
        if file == "systemd.md":
            systemd(path, out_dir, commands)
        elif file in checks:
            ys = blocks(path, "yaml")
            if not ys:
                problem(path, "no yaml block")
            for text in ys:
                try:
                    docs = [d for d in yaml.safe_load_all(text) if d is not None]
                except yaml.YAMLError as e:
                    problem(path, f"yaml: {e}")
                    continue
                checks[file](path, docs, commands)
        rows += [(file, kind, line) for kind, line in commands]
    with open(os.path.join(out_dir, "commands.tsv"), "w") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
