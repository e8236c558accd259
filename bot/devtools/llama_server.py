"""llama.cpp's own `llama-server` for benches, built once from the llama-cpp-python sdist's llama.cpp."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path

# Every option that would fetch something at build time is off: the build must work without a network.
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_CURL=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=ON",
)


class LlamaServerError(RuntimeError):
    """llama-server could not be built or started; the message says what is missing."""


def cache_root() -> Path:
    """Where builds are kept between runs, outside the work tree and the bot's data folder."""
    return Path.home() / ".cache" / "support-bot" / "llama-server"


def installed_version() -> str:
    """The llama-cpp-python version the engine runs: the server is built from the same llama.cpp."""
    try:
        return metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        raise LlamaServerError("llama-cpp-python is not installed") from None


def binary_path(version: str | None = None, root: Path | None = None) -> Path:
    return (root or cache_root()) / (version or installed_version()) / "build" / "bin" / "llama-server"


def _check_tools() -> None:
    missing = [tool for tool in ("cmake", "c++", "cc") if shutil.which(tool) is None]
    if missing:
        raise LlamaServerError(
            f"building llama-server needs {', '.join(missing)} on PATH "
            "(Debian: apt-get install cmake build-essential)"
        )


def _find_sdist(version: str, folder: Path) -> Path | None:
    found = sorted(folder.glob(f"llama_cpp_python-{version}.tar.gz"))
    return found[0] if found else None


def _download_sdist(version: str, folder: Path, log: Callable[[str], None]) -> Path:
    """pip's own client fetches the sdist (from its cache when it has it)."""
    folder.mkdir(parents=True, exist_ok=True)
    found = _find_sdist(version, folder)
    if found is not None:
        return found
    log(f"downloading the llama-cpp-python {version} sdist with pip")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"llama-cpp-python=={version}",
        "-d",
        str(folder),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
    found = _find_sdist(version, folder)
    if done.returncode != 0 or found is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise LlamaServerError(
            f"pip could not download the llama-cpp-python {version} sdist: {' | '.join(tail)}; "
            f"put llama_cpp_python-{version}.tar.gz into {folder} by hand"
        )
    return found


def _extract_llama_cpp(sdist: Path, into: Path) -> Path:
    """The sdist's vendor/llama.cpp folder, extracted once."""
    source = into / "llama.cpp"
    if (source / "CMakeLists.txt").is_file():
        return source
    prefix = sdist.name.removesuffix(".tar.gz") + "/vendor/llama.cpp/"
    staging = into / "extract"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise LlamaServerError(f"{sdist} has no vendor/llama.cpp folder")
        archive.extractall(staging, members=members, filter="data")
    shutil.rmtree(source, ignore_errors=True)
    (staging / prefix).rename(source)
    shutil.rmtree(staging, ignore_errors=True)
    return source


def ensure_llama_server(
    *,
    root: Path | None = None,
    jobs: int | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Path:
    """The llama-server binary of the installed llama-cpp-python's llama.cpp; built on first use (minutes).

    The build lives under `cache_root()/<version>/` and is reused; a half-finished build is resumed.
    """
    version = installed_version()
    home = (root or cache_root()) / version
    binary = binary_path(version, root)
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    _check_tools()
    sdist = _download_sdist(version, home, log)
    source = _extract_llama_cpp(sdist, home)
    build = home / "build"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    log(f"configuring llama.cpp in {build}")
    _run(["cmake", "-S", str(source), "-B", str(build), *generator, *CMAKE_OPTIONS], home / "configure.log")
    jobs = jobs or max(1, os.cpu_count() or 1)
    log(f"building llama-server with {jobs} jobs (several minutes on a small machine)")
    _run(["cmake", "--build", str(build), "--target", "llama-server", "-j", str(jobs)], home / "build.log")
    if not binary.is_file():
        raise LlamaServerError(f"the build finished without {binary}; see {home / 'build.log'}")
    return binary


def _run(command: Sequence[str], log_file: Path) -> None:
    with log_file.open("w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-5:]
        raise LlamaServerError(
            f"{' '.join(command[:2])} failed ({done.returncode}); see {log_file}: " + " | ".join(tail)
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(
    argv: Sequence[str], *, port: int, log_file: Path, start_timeout_s: float = 120.0
) -> Iterator[str]:
    """Start `argv` (a llama-server command line listening on 127.0.0.1:`port`), yield its URL once
    `/health` answers 200, and stop it afterwards."""
    url = f"http://127.0.0.1:{port}"
    with log_file.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our argv
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                if process.poll() is not None:
                    tail = log_file.read_text(errors="replace").strip().splitlines()[-5:]
                    raise LlamaServerError(
                        f"llama-server exited with {process.returncode}: " + " | ".join(tail)
                    )
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:  # noqa: S310 - loopback
                        if reply.status == 200:
                            break
                except (OSError, urllib.error.URLError):
                    pass
                if time.monotonic() > deadline:
                    raise LlamaServerError(f"llama-server gave no /health within {start_timeout_s:g} s")
                time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
