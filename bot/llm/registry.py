"""The model registry of one data folder: which model files are in use, the `models use` choice, the manifest
of prepared files, and a content-hash cache; the shipped defaults are prepared on first use."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.config import EmbeddingSettings, LLMSettings
from bot.llm.base import ModelError
from bot.llm.gguf_file import ModelKind, check_adapter, check_embedder, check_generator, inspect_gguf
from bot.llm.provision import (
    EMBEDDER_FILE,
    PREPARED_GENERATOR_FILE,
    PreparedModel,
    PrepareReport,
    embedder_is_current,
    generator_is_current,
    now,
    prepare_embedder,
    prepare_generator,
    shipped_embedder_label,
    shipped_generator_label,
    shipped_generator_path,
)

log = logging.getLogger("bot.llm.models")

MANIFEST_FILE = "manifest.json"
ACTIVE_FILE = "active.json"
RESET_HINT = "run `python -m bot models use --reset` to return to the shipped model"
PREPARE_HINT = "run `python -m bot models prepare`"
# What a new data folder needs before the shipped embedder serves; `models list` says it where it is missing.
PREPARE_FIX = (
    f"{PREPARE_HINT} (offline, a few seconds; `ask`, `chat`, `kb reload` and `serve` also prepare it "
    "on first use)"
)


# ----------------------------------------------------------------------------------------------------
# JSON state files, written atomically


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, *, what: str) -> dict[str, Any]:
    """The JSON object in `path` ({} when the file does not exist); anything else is a `ModelError`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{what} {path} is unreadable ({exc}); {RESET_HINT}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{what} {path} must hold a JSON object; {RESET_HINT}")
    return data


def _read_json_lenient(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ----------------------------------------------------------------------------------------------------
# Content hashes


class FileHashes:
    """sha256 of files, cached by (resolved path, size, mtime) so starts do not re-read large model files.

    With a manifest path the cache is loaded from, and saved to, its `hashes` key; without one it lives in
    memory only (an engine built without a registry). It is the one writer of that manifest.
    """

    def __init__(self, manifest: Path | None = None) -> None:
        self._manifest = manifest
        self._lock = threading.Lock()
        # Manifest writes are read-modify-writes, and a registry's are made from more than one thread (the
        # engine's worker hashes the model it loads while another thread may be preparing a model).
        self._write_lock = threading.Lock()
        self._memo: dict[str, tuple[int, int, str]] = {}
        self._loaded = manifest is None

    def _load(self) -> None:
        if self._loaded or self._manifest is None:
            return
        entries = _read_json_lenient(self._manifest).get("hashes", {})
        with self._lock:
            self._loaded = True
            if not isinstance(entries, dict):
                return
            for key, entry in entries.items():
                if isinstance(entry, dict) and {"size", "mtime_ns", "sha256"} <= entry.keys():
                    self._memo.setdefault(
                        key, (int(entry["size"]), int(entry["mtime_ns"]), str(entry["sha256"]))
                    )

    def sha256(self, path: Path) -> str:
        self._load()
        resolved = path.resolve()
        st = resolved.stat()
        key, size, mtime = str(resolved), st.st_size, st.st_mtime_ns
        with self._lock:
            cached = self._memo.get(key)
        if cached is not None and cached[0] == size and cached[1] == mtime:
            return cached[2]
        digest = hashlib.sha256()
        with open(key, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        value = digest.hexdigest()
        with self._lock:
            self._memo[key] = (size, mtime, value)
        self._persist()
        return value

    def model_version(self, path: Path, adapter: Path | None = None) -> str:
        """Short id of the served weights for logs and the conversation log: `<model12>[+<adapter12>]`."""
        version = self.sha256(path)[:12]
        if adapter is not None:
            version += "+" + self.sha256(adapter)[:12]
        return version

    def save(self, **changes: Any) -> None:
        """Write `changes` and the cache into the manifest, atomically, keeping what another process added;
        raises `OSError` when the manifest cannot be written."""
        if self._manifest is None:
            raise ValueError("a hash cache without a manifest has nowhere to save")
        with self._write_lock:
            data = _read_json_lenient(self._manifest)
            data.update(changes)
            self._merge_into(data)
            write_json_atomic(self._manifest, data)

    def _merge_into(self, data: dict[str, Any]) -> None:
        """Put the cache into a manifest being written, keeping entries another process added."""
        saved = data.get("hashes")
        merged: dict[str, Any] = dict(saved) if isinstance(saved, dict) else {}
        with self._lock:
            merged.update({k: {"size": s, "mtime_ns": m, "sha256": h} for k, (s, m, h) in self._memo.items()})
        # Forget files that are gone so the cache cannot grow without bound.
        data["hashes"] = {k: v for k, v in merged.items() if Path(k).is_file()}

    def _persist(self) -> None:
        target = self._manifest
        if target is None or not target.parent.is_dir():
            return
        try:
            self.save()
        except OSError as exc:
            log.warning("cannot write the model hash cache", extra={"path": str(target), "error": str(exc)})


# ----------------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True, slots=True)
class GeneratorChoice:
    model: Path
    model_source: str
    adapter: Path | None = None
    adapter_source: str = ""
    prepared_now: bool = False  # the shipped model was requantized during this call


@dataclass(frozen=True, slots=True)
class Unprepared:
    """A shipped model in use that `models prepare` has not made in this data folder yet (a fresh checkout,
    a new data folder): the bot is not ready, nothing is broken, and `fix` says how to get ready."""

    role: str
    path: Path  # the file `models prepare` writes
    source: str  # what it is made from
    fix: str


UseKind = ModelKind | Literal["embedder"]


@dataclass(frozen=True, slots=True)
class UseResult:
    kind: UseKind
    path: Path
    active: dict[str, Any]
    active_file: Path


class ModelRegistry:
    """The models of one data folder (`<data_dir>/models/`).

    Priority for the chat model: BOT_LLM__MODEL_PATH / BOT_LLM__LORA_PATH > `models use` (active.json) > the
    shipped model; for the embedder: BOT_EMBEDDINGS__MODEL_PATH > `models use --embedder` > the shipped one.
    A shipped default that is not prepared yet is prepared on first use (offline, seconds); an explicit path
    that is missing or wrong fails with a message that says how to fix it.
    """

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self.hashes = FileHashes(self.manifest_file)

    @property
    def active_file(self) -> Path:
        return self.models_dir / ACTIVE_FILE

    @property
    def manifest_file(self) -> Path:
        return self.models_dir / MANIFEST_FILE

    @property
    def prepared_generator_path(self) -> Path:
        return self.models_dir / PREPARED_GENERATOR_FILE

    @property
    def prepared_embedder_path(self) -> Path:
        return self.models_dir / EMBEDDER_FILE

    def file_sha256(self, path: Path) -> str:
        return self.hashes.sha256(path)

    def model_version(self, path: Path, adapter: Path | None = None) -> str:
        return self.hashes.model_version(path, adapter)

    # -- state files ------------------------------------------------------------------------------------

    def read_active(self) -> dict[str, Any]:
        """The choice recorded by `models use` ({} when none)."""
        return read_json(self.active_file, what="the model choice")

    def _update_manifest(self, **changes: Any) -> None:
        try:
            self.hashes.save(**changes)
        except OSError as exc:
            raise ModelError(f"cannot write {self.manifest_file}: {exc.strerror or exc}") from None

    @staticmethod
    def _active_path(active: dict[str, Any], key: str) -> Path | None:
        value = active.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ModelError(f"the model choice in active.json has an invalid {key!r}; {RESET_HINT}")
        return Path(value)

    # -- the shipped defaults, prepared on demand -------------------------------------------------------

    def _ensure_generator(self) -> tuple[Path, bool]:
        """The requantized shipped chat model, made now when missing or stale: (path, made now)."""
        target = self.prepared_generator_path
        if generator_is_current(target, _read_json_lenient(self.manifest_file).get("generator_requant")):
            try:
                check_generator(target, "prepared chat model")
            except ModelError as exc:
                log.warning(
                    "prepared chat model is damaged; requantizing it again", extra={"error": str(exc)}
                )
            else:
                return target, False
        log.info(
            "preparing the shipped chat model (once per data folder, offline)", extra={"out": str(target)}
        )
        self._update_manifest(generator_requant=prepare_generator(target))
        return target, True

    def _ensure_embedder(self) -> tuple[Path, bool]:
        """The converted shipped embedder, made now when missing or stale: (path, made now)."""
        target = self.prepared_embedder_path
        if embedder_is_current(target, _read_json_lenient(self.manifest_file).get("embedder_conversion")):
            try:
                check_embedder(target, "prepared embedder")
            except ModelError as exc:
                log.warning("prepared embedder is damaged; converting it again", extra={"error": str(exc)})
            else:
                return target, False
        log.info(
            "preparing the shipped embedding model (once per data folder, offline)",
            extra={"out": str(target)},
        )
        self._update_manifest(embedder_conversion=prepare_embedder(target))
        return target, True

    # -- resolution ---------------------------------------------------------------------------------------

    def choose_generator(self, llm: LLMSettings, *, prepare: bool = True) -> GeneratorChoice:
        """The chat model and adapter to serve, validated, with where each choice came from.

        `prepare=False` never writes (`models list`): an unprepared shipped model is reported as the
        shipped Q4_1 file it would fall back to. An adapter chosen with `models use` belongs to the model it
        was chosen with, so an explicit BOT_LLM__MODEL_PATH drops it (with a warning) rather than loading it
        on a different base.
        """
        active = self.read_active()
        where_active = f"chosen in {self.active_file}; {RESET_HINT}"
        active_model = self._active_path(active, "model")
        active_adapter = self._active_path(active, "adapter")
        prepared_now = False

        if llm.model_path is not None:
            model, model_source, where = llm.model_path, "env BOT_LLM__MODEL_PATH", "BOT_LLM__MODEL_PATH"
        elif active_model is not None:
            model, model_source, where = (
                active_model,
                f"active.json (models use, {active.get('updated_at', '?')})",
                where_active,
            )
        else:
            model, model_source, where = shipped_generator_path(), shipped_generator_label(), "shipped model"
            requantized = model_source[:-1] + ", requantized to Q8_0)"
            if prepare:
                try:
                    model, prepared_now = self._ensure_generator()
                    model_source = requantized
                except ModelError as exc:
                    # The shipped Q4_1 file serves as well, only slower: a read-only data folder must not
                    # stop the bot.
                    log.warning(
                        "cannot prepare the shipped chat model; serving it unconverted",
                        extra={"error": str(exc)},
                    )
            elif self.prepared_generator_path.is_file():
                try:
                    check_generator(self.prepared_generator_path, "prepared chat model")
                except ModelError as exc:
                    log.warning(
                        "prepared chat model is damaged; using the shipped one", extra={"error": str(exc)}
                    )
                else:
                    model, model_source = self.prepared_generator_path, requantized
        base = check_generator(model, where)

        adapter: Path | None = None
        adapter_source = ""
        if llm.lora_path is not None:
            adapter, adapter_source = llm.lora_path, "env BOT_LLM__LORA_PATH"
            check_adapter(adapter, "BOT_LLM__LORA_PATH", base)
        elif active_adapter is not None:
            if llm.model_path is not None:
                log.warning(
                    "ignoring the adapter from models use: BOT_LLM__MODEL_PATH names another base model",
                    extra={"adapter": str(active_adapter), "model": str(model)},
                )
            else:
                adapter, adapter_source = (
                    active_adapter,
                    f"active.json (models use, {active.get('updated_at', '?')})",
                )
                check_adapter(adapter, where_active, base)
        return GeneratorChoice(
            model=model,
            model_source=model_source,
            adapter=adapter,
            adapter_source=adapter_source,
            prepared_now=prepared_now,
        )

    def resolve_generator(self, llm: LLMSettings) -> tuple[Path, Path | None]:
        """(model, adapter) the local engine should load, both validated; raises `ModelError` with the fix."""
        choice = self.choose_generator(llm)
        return choice.model, choice.adapter

    def resolve_embedder_path(self, embeddings: EmbeddingSettings, *, prepare: bool = True) -> Path:
        """BOT_EMBEDDINGS__MODEL_PATH if set, else the converted shipped embedder (converted now if needed).

        `prepare=False` never writes (`models list`, health checks): an unprepared embedder is an error.
        """
        if embeddings.model_path is not None:
            check_embedder(embeddings.model_path, "BOT_EMBEDDINGS__MODEL_PATH")
            return embeddings.model_path
        if (chosen := self._active_path(self.read_active(), "embedder")) is not None:
            check_embedder(chosen, f"chosen in {self.active_file}; {RESET_HINT}")
            return chosen
        if prepare:
            path, _ = self._ensure_embedder()
            return path
        path = self.prepared_embedder_path
        if not path.exists():
            raise ModelError(f"the embedding model is not prepared yet ({path} is missing): {PREPARE_HINT}")
        try:
            check_embedder(path, "prepared embedder")
        except ModelError as exc:
            raise ModelError(f"{exc}; {PREPARE_HINT} to convert it again") from None
        return path

    def unprepared_embedder(self, embeddings: EmbeddingSettings) -> Unprepared | None:
        """The shipped embedder when it is the one in use and not converted into this data folder yet; None
        when it is there (damaged or not: `resolve_embedder_path` judges it) or another embedder is
        configured (BOT_EMBEDDINGS__MODEL_PATH, `models use --embedder`). Never writes."""
        if embeddings.model_path is not None or self._active_path(self.read_active(), "embedder") is not None:
            return None
        path = self.prepared_embedder_path
        if path.exists() or path.is_symlink():
            return None
        return Unprepared("embedder", path, shipped_embedder_label(), PREPARE_FIX)

    # -- models prepare -----------------------------------------------------------------------------------

    def prepare(self, llm: LLMSettings, embeddings: EmbeddingSettings) -> PrepareReport:
        """Make every model the bot will use ready and recorded; idempotent and offline.

        The shipped models are converted once into the models folder; later runs only re-check headers and
        the manifest's size/mtime records. `manifest.json` lists the sha256 and size of each file in use.
        """
        try:
            self.models_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(
                f"cannot create the models folder {self.models_dir}: {exc.strerror or exc}"
            ) from None
        prepared: list[PreparedModel] = []

        if llm.server_url:
            prepared.append(
                PreparedModel(
                    "generator", Path(), "remote llama.cpp server (BOT_LLM__SERVER_URL)", "", 0, "remote"
                )
            )
        else:
            choice = self.choose_generator(llm)
            for role, chosen, origin in (
                ("generator", choice.model, choice.model_source),
                ("adapter", choice.adapter, choice.adapter_source),
            ):
                if chosen is not None:
                    action = "converted" if choice.prepared_now and role == "generator" else "verified"
                    digest, size = self.file_sha256(chosen), chosen.stat().st_size
                    prepared.append(PreparedModel(role, chosen, origin, digest, size, action))

        if embeddings.model_path is not None:
            path = self.resolve_embedder_path(embeddings)
            source, converted = "env BOT_EMBEDDINGS__MODEL_PATH", False
        elif self._active_path(self.read_active(), "embedder") is not None:
            path = self.resolve_embedder_path(embeddings)
            source, converted = "active.json (models use)", False
        else:
            path, converted = self._ensure_embedder()
            source = shipped_embedder_label()
        prepared.append(
            PreparedModel(
                "embedder",
                path,
                source,
                self.file_sha256(path),
                path.stat().st_size,
                "converted" if converted else "verified",
            )
        )

        self._update_manifest(
            version=1,
            prepared_at=now(),
            files=[
                {"role": m.role, "path": str(m.path), "source": m.source, "sha256": m.sha256, "size": m.size}
                for m in prepared
                if m.action != "remote"
            ],
        )
        return PrepareReport(models=tuple(prepared), manifest=self.manifest_file)

    # -- models use ---------------------------------------------------------------------------------------

    def use(self, path: Path) -> UseResult:
        """Record PATH as the served model or adapter in active.json (atomically), after validating it.

        A full model replaces the current model and drops any adapter (an adapter belongs to its base);
        an adapter is put on top of the current model (the active one, or the shipped one). The embedder
        chosen with `use_embedder` stays.
        """
        path = path.expanduser().resolve()
        info = inspect_gguf(path)
        active = self.read_active()
        if info.kind == "model":
            check_generator(path, "models use")
            new: dict[str, Any] = {"model": str(path), "adapter": None, "embedder": active.get("embedder")}
        else:
            current_model = self._active_path(active, "model") or shipped_generator_path()
            base = check_generator(current_model, "the model the adapter goes on")
            check_adapter(path, "models use", base)
            new = {"model": active.get("model"), "adapter": str(path), "embedder": active.get("embedder")}
        new["updated_at"] = now()
        new[f"{info.kind}_sha256"] = self.file_sha256(path)
        try:
            write_json_atomic(self.active_file, new)
        except OSError as exc:
            raise ModelError(f"cannot write {self.active_file}: {exc.strerror or exc}") from None
        log.info("model choice recorded", extra={"kind": info.kind, "path": str(path)})
        return UseResult(kind=info.kind, path=path, active=new, active_file=self.active_file)

    def use_embedder(self, path: Path) -> UseResult:
        """Record PATH as the embedder in active.json (atomically), after checking it is an embedding model.

        The chat model choice stays. Indexes built with another embedder refuse to serve until they are
        re-embedded (the index stores the embedder's file name: `bot.kb.reload.same_embedder`): the CLI's
        embedder switch records and re-embeds together, and a running bot takes the new one on SIGHUP.
        """
        path = path.expanduser().resolve()
        info = check_embedder(path, "models use --embedder")
        if not info.is_embedding_model:
            raise ModelError(f"{path} is a chat model ({info.architecture}), not an embedding model")
        new = {**self.read_active(), "embedder": str(path), "updated_at": now()}
        new["embedder_sha256"] = self.file_sha256(path)
        try:
            write_json_atomic(self.active_file, new)
        except OSError as exc:
            raise ModelError(f"cannot write {self.active_file}: {exc.strerror or exc}") from None
        log.info("embedder choice recorded", extra={"path": str(path)})
        return UseResult(kind="embedder", path=path, active=new, active_file=self.active_file)

    def reset(self, *, embedder: bool = False) -> bool:
        """Forget the chat model choice (model and adapter) or, with `embedder`, the embedder choice; the
        other stays, as `use` and `use_embedder` keep it. Returns whether there was one to forget. An
        unreadable active.json is removed whole (that is what RESET_HINT promises)."""
        try:
            active = self.read_active()
        except ModelError:
            return self._remove_active()
        chat = ("model", "adapter", "model_sha256", "adapter_sha256")
        keys = ("embedder", "embedder_sha256") if embedder else chat
        had = any(active.get(key) for key in keys)
        kept = {key: value for key, value in active.items() if key not in keys}
        if any(kept.get(key) for key in ("model", "adapter", "embedder")):
            try:
                write_json_atomic(self.active_file, {**kept, "updated_at": now()})
            except OSError as exc:
                raise ModelError(f"cannot write {self.active_file}: {exc.strerror or exc}") from None
        else:
            self._remove_active()
        return had

    def _remove_active(self) -> bool:
        """Delete active.json; whether there was one."""
        try:
            self.active_file.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ModelError(f"cannot remove {self.active_file}: {exc.strerror or exc}") from None
        return True
