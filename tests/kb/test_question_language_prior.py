"""Search judges a short question's language with the knowledge base's languages as the prior, as the
pipeline's gate and fixed texts do: "Backports installieren?" is German for a German help center."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb import elastic, embedded
from bot.kb.analysis import question_language
from tests.fakes import FakeEmbedder
from tests.kb.conftest import KBFactory

ARTICLES = {
    "backports.md": (
        "# Backports installieren\n\nDie Backports enthalten neuere Pakete für die stabile Version. "
        "Tragen Sie die Paketquelle in sources.list ein und laden Sie die Paketlisten neu.\n"
    ),
    "usb.md": (
        "# Einen USB-Stick verschlüsseln\n\nMit cryptsetup wird der ganze Datenträger verschlüsselt. Beim "
        "Einstecken fragt das System nach dem Passwort und hängt den Stick danach ein.\n"
    ),
    "farben.md": (
        "# Farben im Terminal\n\nDer Befehl ls zeigt Dateien in Farben, wenn die Variable gesetzt ist. "
        "Die Farben werden in der Datei dircolors festgelegt und können geändert werden.\n"
    ),
}
# More German sections: with fewer than a dozen a knowledge base is not calibrated, and Elasticsearch then
# knows no languages of its own (the pipeline's gate takes its prior from the same calibration).
TOPICS = (
    (
        "Drucker einrichten",
        "Der Drucker wird über CUPS im Browser eingerichtet und danach als Standard gewählt.",
    ),
    ("Zeitzone ändern", "Die Zeitzone stellt man mit timedatectl ein; die Uhr folgt danach der neuen Zone."),
    (
        "Benutzer anlegen",
        "Ein neuer Benutzer entsteht mit adduser, das Passwort und Heimatverzeichnis anlegt.",
    ),
    (
        "Festplatte prüfen",
        "Das Werkzeug smartctl liest den Zustand der Festplatte und meldet drohende Fehler.",
    ),
    (
        "Netzwerk konfigurieren",
        "Die Netzwerkschnittstellen beschreibt die Datei interfaces oder der Manager.",
    ),
    ("Sicherung erstellen", "Eine Sicherung der Daten legt rsync auf einem zweiten Laufwerk regelmäßig an."),
    ("Dienste starten", "Ein Dienst wird mit systemctl gestartet, angehalten oder beim Systemstart geladen."),
    ("Protokolle lesen", "Die Meldungen des Systems zeigt journalctl, nach Zeit und Dienst gefiltert."),
    ("Tastatur umstellen", "Das Tastaturlayout wählt man mit dpkg-reconfigure keyboard-configuration neu."),
    ("Speicher anzeigen", "Wie viel Arbeitsspeicher frei ist, zeigen die Befehle free und top jederzeit an."),
    (
        "Schriften installieren",
        "Zusätzliche Schriftarten kommen als Pakete und stehen danach allen Programmen bereit.",
    ),
    (
        "Kernel aktualisieren",
        "Ein neuer Kernel wird mit den Paketen installiert und beim nächsten Neustart geladen.",
    ),
)


def _help_center(tmp_path: Path) -> Path:
    """A German help center of the articles and topics above, written under `tmp_path`."""
    folder = tmp_path / "hilfe"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    for n, (heading, text) in enumerate(TOPICS):
        (folder / f"thema{n}.md").write_text(f"# {heading}\n\n{text}\n", encoding="utf-8")
    return folder


def test_question_language_takes_the_prior_for_an_unsure_short_question() -> None:
    assert question_language("Backports installieren?") == "en"  # unsure: English stands in
    assert question_language("Backports installieren?", ("de",)) == "de"
    # A confident detection keeps its language whatever the knowledge base's.
    assert question_language("How do I install backports on my server?", ("de",)) == "en"


async def test_search_judges_a_short_question_with_the_knowledge_bases_languages(
    kb_factory: KBFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _help_center(tmp_path)
    kb = kb_factory(FakeEmbedder())
    await kb.reload(folder)
    judged: list[str] = []

    def spy(text: str, kb_languages: tuple[str, ...] = ()) -> str:
        judged.append(question_language(text, kb_languages))
        return judged[-1]

    monkeypatch.setattr(embedded, "question_language", spy)
    monkeypatch.setattr(elastic, "question_language", spy)
    hits = await kb.search("Backports installieren?", k=1)
    assert hits
    assert judged == ["de"]


async def test_eval_reports_an_unlabelled_short_question_in_the_knowledge_bases_language(
    kb_factory: KBFactory, tmp_path: Path
) -> None:
    """`eval retrieval` filed "paypal ?" to a French help center under English, where chat answers it in
    French: it detected the question's language without the knowledge base's as the prior."""
    from bot.evaluation.questions import Question
    from bot.evaluation.retrieval import evaluate_retrieval

    folder = _help_center(tmp_path)
    embedder = FakeEmbedder()
    kb = kb_factory(embedder)
    await kb.reload(folder)
    asked = [
        Question("q1", "Backports installieren?", file="backports.md", heading="Backports installieren"),
        Question("q2", "How do I install backports on my server?", file="backports.md", heading="Backports"),
    ]
    report = await evaluate_retrieval(kb, embedder, asked, k=5)
    assert sorted(report.languages) == ["de", "en"]
