// The built-in language analyzers (`english`, `french`, `cjk`, ...) for the integration-test node.
//
// Elastic's integ-test zip, the only Elasticsearch build on Maven Central, leaves out the analysis-common
// module that registers them, though the Lucene analyzers they wrap ship in its lib/. A real distribution's
// `english` is Lucene's EnglishAnalyzer with its default stop words and no stem exclusions; so are the others
// here, so the bot's mapping (bot/kb/elastic.py) is created and analysed on the test node as in production.
// .ci/elasticsearch compiles this against the node's own jars and installs it as a plugin.
package bot.ci;

import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.analysis.Analyzer;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.AnalyzerScope;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

public class LanguageAnalyzers extends Plugin implements AnalysisPlugin {
    private static final String[][] ANALYZERS = {
        {"arabic", "ar.ArabicAnalyzer"}, {"armenian", "hy.ArmenianAnalyzer"},
        {"basque", "eu.BasqueAnalyzer"}, {"bengali", "bn.BengaliAnalyzer"},
        {"brazilian", "br.BrazilianAnalyzer"}, {"bulgarian", "bg.BulgarianAnalyzer"},
        {"catalan", "ca.CatalanAnalyzer"}, {"cjk", "cjk.CJKAnalyzer"}, {"czech", "cz.CzechAnalyzer"},
        {"danish", "da.DanishAnalyzer"}, {"dutch", "nl.DutchAnalyzer"}, {"english", "en.EnglishAnalyzer"},
        {"estonian", "et.EstonianAnalyzer"}, {"finnish", "fi.FinnishAnalyzer"},
        {"french", "fr.FrenchAnalyzer"}, {"galician", "gl.GalicianAnalyzer"},
        {"german", "de.GermanAnalyzer"}, {"greek", "el.GreekAnalyzer"}, {"hindi", "hi.HindiAnalyzer"},
        {"hungarian", "hu.HungarianAnalyzer"}, {"indonesian", "id.IndonesianAnalyzer"},
        {"irish", "ga.IrishAnalyzer"}, {"italian", "it.ItalianAnalyzer"}, {"latvian", "lv.LatvianAnalyzer"},
        {"lithuanian", "lt.LithuanianAnalyzer"}, {"norwegian", "no.NorwegianAnalyzer"},
        {"persian", "fa.PersianAnalyzer"}, {"portuguese", "pt.PortugueseAnalyzer"},
        {"romanian", "ro.RomanianAnalyzer"}, {"russian", "ru.RussianAnalyzer"},
        {"serbian", "sr.SerbianAnalyzer"}, {"spanish", "es.SpanishAnalyzer"},
        {"swedish", "sv.SwedishAnalyzer"}, {"thai", "th.ThaiAnalyzer"}, {"turkish", "tr.TurkishAnalyzer"},
    };

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> out = new HashMap<>();
        for (String[] entry : ANALYZERS) {
            String name = entry[0];
            String className = "org.apache.lucene.analysis." + entry[1];
            out.put(name, (indexSettings, environment, given, settings) -> provider(given, className));
        }
        return out;
    }

    private static AnalyzerProvider<Analyzer> provider(String name, String className) {
        final Analyzer analyzer;
        try {
            analyzer = (Analyzer) Class.forName(className).getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("analyzer [" + name + "] unavailable: " + e);
        }
        return new AnalyzerProvider<>() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public AnalyzerScope scope() {
                return AnalyzerScope.INDEX;
            }

            @Override
            public Analyzer get() {
                return analyzer;
            }
        };
    }
}
