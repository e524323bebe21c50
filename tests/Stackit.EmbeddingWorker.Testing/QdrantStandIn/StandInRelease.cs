namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// The Qdrant release the stand-in behaves as, where what the worker meets differs by release. Each rule names the
/// change in qdrant/qdrant it follows. A version that does not parse (a proxy that hides it, a development build)
/// behaves as the pinned release.
/// </summary>
public sealed record StandInRelease(Version Number)
{
    /// <summary>The release the chart and the real-Qdrant tests pin (<c>qdrant/qdrant:v1.16.3</c>).</summary>
    public static readonly StandInRelease Pinned = new(new Version(1, 16, 3));

    /// <summary>The newest release whose source the stand-in was checked against.</summary>
    public static readonly StandInRelease Newest = new(new Version(1, 19, 0));

    /// <summary>As <paramref name="reported"/> names it; the pinned release when it names none.</summary>
    public static StandInRelease Of(string reported) =>
        Version.TryParse(reported.Split('-')[0], out var number) ? new StandInRelease(number) : Pinned;

    /// <summary>
    /// An upsert's <c>update_filter</c> and a collection's <c>metadata</c> exist from 1.15.4 (9c8ef5574f #7006, f0b139f765
    /// #7123); an older server drops both unread, as protobuf drops fields it does not know.
    /// </summary>
    public bool KnowsUpdateFilterAndMetadata => Number >= new Version(1, 15, 4);

    /// <summary>Qdrant makes BM25 vectors itself from 1.15.3 (6ae07f0fd8 #7050); 1.15.2 needs an inference service.</summary>
    public bool MakesBm25Itself => Number >= new Version(1, 15, 3);

    /// <summary>
    /// Up to 1.16.x a read returns a dense vector in the flat <c>data</c> field; from 1.17 in <c>dense</c>
    /// (lib/api/src/conversions/vectors.rs, <c>From&lt;VectorInternal&gt; for VectorOutput</c>).
    /// </summary>
    public bool SendsFlatVectors => Number < new Version(1, 17, 0);

    public override string ToString() => Number.ToString(3);
}
