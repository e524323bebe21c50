using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// The vectors a collection holds, as read from Qdrant: one unnamed dense vector (every collection before hybrid
/// retrieval), or a dense vector named <see cref="DenseName"/> beside a BM25 sparse vector named <see cref="Bm25Name"/>
/// that Qdrant computes from the chunk's text (<see cref="Bm25Model"/>, with the IDF modifier). Points are written,
/// read and searched by the shape of their collection, whatever the configuration says today.
/// </summary>
internal sealed record CollectionShape(ulong Dimension, string? Bm25Language = null)
{
    public const string DenseName = "dense";
    public const string Bm25Name = "bm25";
    public const string Bm25Model = "qdrant/bm25";

    /// <summary>Collection metadata that records the language a hybrid collection's BM25 vectors were made with.</summary>
    public const string Bm25LanguageKey = "bm25_language";

    /// <summary>The languages Qdrant's BM25 has stop words and a stemmer for (lib/segment's <c>Language</c>), with their short forms.</summary>
    public static readonly IReadOnlySet<string> Bm25Languages = new HashSet<string>(StringComparer.Ordinal)
    {
        "arabic", "azerbaijani", "basque", "bengali", "catalan", "chinese", "danish", "dutch", "english", "finnish",
        "french", "german", "greek", "hebrew", "hinglish", "hungarian", "indonesian", "italian", "japanese", "kazakh",
        "nepali", "norwegian", "portuguese", "romanian", "russian", "slovene", "spanish", "swedish", "tajik", "turkish",
        "ar", "az", "eu", "bn", "ca", "zh", "da", "nl", "en", "fi", "fr", "de", "el", "he", "hi-en", "hu", "id", "it",
        "jp", "kk", "ne", "no", "pt", "ro", "ru", "sl", "es", "sv", "tg", "tr",
    };

    public bool Hybrid => Bm25Language is not null;

    /// <summary>The name a query uses for the dense vector: none for a plain collection.</summary>
    public string? DenseUsing => Hybrid ? DenseName : null;

    /// <summary>What Qdrant turns into the BM25 vector of a text: at ingest a document's, at search a query's weights.</summary>
    public Document Bm25Document(string text) => new()
    {
        Text = text,
        Model = Bm25Model,
        Options = { ["language"] = Bm25Language ?? "english" },
    };

    /// <summary>
    /// The shape of a collection from its info: plain, or hybrid (a dense vector named <see cref="DenseName"/> and a
    /// sparse one named <see cref="Bm25Name"/>), with the BM25 language from the collection's metadata, else
    /// <paramref name="configuredLanguage"/>, else English (Qdrant's default).
    /// </summary>
    /// <exception cref="VectorStoreRejectedException">Named vectors this worker does not write.</exception>
    public static CollectionShape Of(string collection, CollectionInfo info, string? configuredLanguage)
    {
        var vectors = info.Config?.Params?.VectorsConfig;
        switch (vectors?.ConfigCase)
        {
            case VectorsConfig.ConfigOneofCase.Params:
                return new CollectionShape(vectors.Params.Size);
            case VectorsConfig.ConfigOneofCase.ParamsMap when vectors.ParamsMap.Map.TryGetValue(DenseName, out var dense)
                && info.Config!.Params.SparseVectorsConfig?.Map.ContainsKey(Bm25Name) == true:
                var language = info.Config!.Metadata.TryGetValue(Bm25LanguageKey, out var recorded) && recorded.StringValue is { Length: > 0 } l ? l
                    : configuredLanguage is { Length: > 0 } ? configuredLanguage : "english";
                return new CollectionShape(dense.Size, language);
            default:
                throw new VectorStoreRejectedException($"collection '{collection}' has vectors this worker does not write: one unnamed dense vector, or '{DenseName}' with the sparse '{Bm25Name}', are what it knows.");
        }
    }
}
