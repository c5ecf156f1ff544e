"""docker/Dockerfile cannot be built here (no Docker engine), so this checks what can be
checked without one: the build stage runs exactly the scripted steps (`.ci/install-deps --build`
and the one cmake command), those steps build a working binary from a copy of the tree, and the
runtime stage installs a Debian package for every shared library that binary links."""
import os
import re
import shlex
import shutil
import subprocess

import pytest

SRC = os.environ.get("SLUICE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
DOCKERFILE = os.path.join(SRC, "docker", "Dockerfile")
INSTALL_STEP = ".ci/install-deps --build"
BUILD_STEP = "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build"
# Packages every Debian image has; the runtime stage need not list them.
ESSENTIAL = {"libc6", "libgcc-s1", "libstdc++6", "libzstd1", "liblzma5", "libcrypt1", "libselinux1"}


def instructions(path):
    """[(stage index, INSTRUCTION, argument text)] with continuation lines joined."""
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)
    out, stage = [], -1
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        out.append((stage, word, " ".join(rest.split())))
    return out


def test_build_stage_runs_the_scripted_steps():
    ins = instructions(DOCKERFILE)
    froms = [a for _, w, a in ins if w == "FROM"]
    assert len(froms) == 2 and all(f.startswith("debian:bookworm-slim") for f in froms), froms
    runs = [a for s, w, a in ins if s == 0 and w == "RUN"]
    assert runs == [INSTALL_STEP, BUILD_STEP], runs
    # The install script is the one CI and `make` use, and it knows the --build mode.
    assert "--build" in open(os.path.join(SRC, ".ci", "install-deps")).read()


def test_runtime_stage_is_non_root_with_volume_and_healthcheck():
    ins = [(w, a) for s, w, a in instructions(DOCKERFILE) if s == 1]
    words = [w for w, _ in ins]
    for w in ("USER", "VOLUME", "EXPOSE", "HEALTHCHECK", "CMD"):
        assert w in words, w
    user = [a for w, a in ins if w == "USER"][-1]
    assert user not in ("root", "0")
    assert [a for w, a in ins if w == "VOLUME"] == ["/data"]
    assert "/healthz" in [a for w, a in ins if w == "HEALTHCHECK"][0]
    cmd = [a for w, a in ins if w == "CMD"][0]
    assert "/data/sluice.db" in cmd and "0.0.0.0:9000" in cmd


def runtime_packages():
    pkgs = set()
    for s, w, a in instructions(DOCKERFILE):
        if s == 1 and w == "RUN" and "apt-get install" in a:
            for cmd in a.split("&&"):
                words = shlex.split(cmd)
                if words[:2] == ["apt-get", "install"]:
                    pkgs |= {x for x in words[2:] if not x.startswith("-")}
    return pkgs


def tree_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=SRC, check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Runs the build stage's RUN steps, as written, in a copy of the tree (like COPY . .)."""
    if shutil.which("git") is None or not os.path.isdir(os.path.join(SRC, ".git")):
        pytest.skip("needs a git checkout to know which files COPY . . would copy")
    dst = tmp_path_factory.mktemp("docker-build") / "src"
    for rel in tree_files():
        src = os.path.join(SRC, rel)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))
    # npm packages that install-deps would fetch: reuse the checkout's (no network in tests).
    for d in ("web",):
        nm = os.path.join(SRC, d, "node_modules")
        if os.path.isdir(nm):
            os.symlink(nm, os.path.join(dst, d, "node_modules"))
    runs = [a for s, w, a in instructions(DOCKERFILE) if s == 0 and w == "RUN"]
    for step in runs:
        r = subprocess.run(["bash", "-c", step], cwd=dst, capture_output=True, text=True,
                           timeout=900)
        assert r.returncode == 0, f"{step}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    binary = os.path.join(dst, "build", "sluice")
    assert os.access(binary, os.X_OK)
    return binary


def test_build_steps_make_a_working_binary(built):
    r = subprocess.run([built, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr


def test_runtime_packages_cover_every_linked_library(built):
    ldd = subprocess.run(["ldd", built], check=True, capture_output=True, text=True).stdout
    libs = re.findall(r"=>\s+(/\S+)", ldd)
    assert libs, ldd
    have = runtime_packages()
    missing = {}
    for lib in libs:
        real = os.path.realpath(lib)
        owner = None
        for candidate in (lib, real, "/usr" + lib if not lib.startswith("/usr") else lib):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0].strip()
                break
        assert owner, f"no Debian package owns {lib}"
        owner = owner.split(",")[0].strip()
        if owner not in have and owner not in ESSENTIAL:
            missing[lib] = owner
    # Only the direct dependencies must be listed; their own dependencies come with them
    # through apt, so check those against what the listed packages depend on.
    if missing:
        deps = set()
        for pkg in have:
            r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends",
                                "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                                "--no-enhances", pkg], capture_output=True, text=True)
            deps |= {l.strip().split(": ")[-1].split(":")[0] for l in r.stdout.splitlines()}
        missing = {lib: p for lib, p in missing.items() if p not in deps}
    assert not missing, f"runtime stage lacks packages for: {missing}"
