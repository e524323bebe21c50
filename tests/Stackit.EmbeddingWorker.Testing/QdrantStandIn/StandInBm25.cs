using Grpc.Core;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// The stand-in's <c>qdrant/bm25</c>, not Qdrant's: the same formulas (a document's terms weighted by BM25 term
/// frequency with k1 1.2, b 0.75 and an average length of 256; a query's distinct terms weighted 1; the IDF modifier
/// ln(1 + (N − n + 0.5)/(n + 0.5)) applied at search time over the collection), on a simpler tokenizer: lower-cased
/// runs of letters and digits, a few English and German stop words removed, no stemming. Terms are kept as strings
/// rather than Qdrant's hashed indices, since ingest and search both run here.
/// </summary>
internal static class StandInBm25
{
    private const double K1 = 1.2;
    private const double B = 0.75;
    private const double AverageLength = 256;

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on", "or", "the", "to", "with",
        "der", "die", "das", "und", "ist", "ein", "eine", "zu", "mit", "von", "im", "den", "nach",
    };

    /// <summary>
    /// The model names Qdrant runs itself (local_model.rs): any other needs an inference service it does not have, and
    /// so does every model before 1.15.3.
    /// </summary>
    public static void CheckModel(Document document, StandInRelease release)
    {
        if (!release.MakesBm25Itself || !document.Model.Equals("qdrant/bm25", StringComparison.OrdinalIgnoreCase) && !document.Model.Equals("bm25", StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(StatusCode.Internal, "Service internal error: InferenceService is not initialized. Please check if it was properly configured and initialized during startup."));
        }
    }

    public static Dictionary<string, float> DocumentTerms(string text)
    {
        var tokens = Tokens(text).ToList();
        var lengthNorm = 1 - B + (B * tokens.Count / AverageLength);
        return tokens.GroupBy(t => t, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (float)(g.Count() * (K1 + 1) / (g.Count() + (K1 * lengthNorm))), StringComparer.Ordinal);
    }

    public static HashSet<string> QueryTerms(string text) => Tokens(text).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The score of each point that shares a term with the query (only those, as a sparse search answers), with the
    /// IDF of each term over <paramref name="all"/> when the vector has the IDF modifier.
    /// </summary>
    public static List<(StoredPoint Point, float Score)> Score(string vectorName, HashSet<string> query, IReadOnlyCollection<StoredPoint> all, IEnumerable<StoredPoint> candidates, bool idf)
    {
        var withVector = all.Where(p => p.Sparse.ContainsKey(vectorName)).ToList();
        var weight = query.ToDictionary(t => t, t =>
        {
            if (!idf)
            {
                return 1.0;
            }
            var n = withVector.Count(p => p.Sparse[vectorName].ContainsKey(t));
            return Math.Log(1 + ((withVector.Count - n + 0.5) / (n + 0.5)));
        }, StringComparer.Ordinal);
        return candidates
            .Where(p => p.Sparse.ContainsKey(vectorName))
            .Select(p => (Point: p, Score: (float)query.Where(p.Sparse[vectorName].ContainsKey).Sum(t => weight[t] * p.Sparse[vectorName][t])))
            .Where(s => s.Score > 0)
            .ToList();
    }

    private static IEnumerable<string> Tokens(string text)
    {
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                var token = text[start..i].ToLowerInvariant();
                start = -1;
                if (!StopWords.Contains(token))
                {
                    yield return token;
                }
            }
        }
    }
}
