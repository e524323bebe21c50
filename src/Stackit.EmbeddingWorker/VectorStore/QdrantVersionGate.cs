using Qdrant.Client;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// The Qdrant release the worker may write to. Every write carries the ordering rule's <c>update_filter</c>, tombstones
/// depend on it, and collections record what they hold in their metadata: Qdrant has both from
/// <see cref="OrderingSince"/> (qdrant/qdrant 9c8ef5574f #7006, f0b139f765 #7123), and an older server drops both unread,
/// so an older write would overwrite a newer one without a sign. BM25 that Qdrant makes itself needs
/// <see cref="Bm25Since"/>. The version is what Qdrant's health call reports; where it reports none that parses
/// (a proxy that hides it), <c>Qdrant:AssumeVersion</c> stands for it, and without that the worker refuses too:
/// it cannot tell whether its writes keep their order.
/// </summary>
internal static class QdrantVersionGate
{
    public static readonly Version OrderingSince = new(1, 15, 4);

    /// <summary>
    /// Qdrant makes BM25 vectors itself without an external inference service from here (6ae07f0fd8 #7050, with the
    /// <c>language</c> option of #7056); on 1.15.2 every BM25 write and search fails with Internal "InferenceService is not
    /// initialized". Below <see cref="OrderingSince"/> anyway, so the gate names it only in its reason.
    /// </summary>
    public static readonly Version Bm25Since = new(1, 15, 3);

    /// <summary>The release Qdrant reports (or <c>Qdrant:AssumeVersion</c>); throws <see cref="QdrantUnsupportedException"/> when the worker must not write to it.</summary>
    public static async Task<Version> CheckAsync(QdrantClient client, QdrantOptions options, CancellationToken cancellationToken)
    {
        var reported = (await client.HealthAsync(cancellationToken).ConfigureAwait(false)).Version;
        var (version, refusal) = Judge(reported, options.AssumeVersion, options.Bm25 is { Length: > 0 });
        return refusal is null ? version! : throw new QdrantUnsupportedException(refusal);
    }

    /// <summary>The release to go by, and why the worker must not write to it (null when it may).</summary>
    internal static (Version? Version, string? Refusal) Judge(string reported, string? assumed, bool bm25)
    {
        var version = Parse(reported);
        var source = $"Qdrant {reported}";
        if (version is null)
        {
            if (Parse(assumed) is not { } given)
            {
                return (null, $"Qdrant reports no version the worker can read ('{reported}'; a proxy may hide it), so it cannot tell whether its writes keep their order (Qdrant {OrderingSince} or later). Set Qdrant:AssumeVersion to the version it runs.");
            }
            version = given;
            source = $"Qdrant:AssumeVersion {assumed}";
        }
        if (version < OrderingSince)
        {
            var bm25Too = bm25 && version < Bm25Since ? $"; Qdrant:Bm25 needs Qdrant {Bm25Since} or later" : "";
            return (version, $"{source} is older than {OrderingSince}, which the worker needs: older servers drop update_filter and collection metadata unread, so an older write could overwrite a newer one{bm25Too}. The worker writes nothing to it; upgrade Qdrant.");
        }
        return (version, null);
    }

    /// <summary><c>1.16.3</c>, also from <c>1.16.3-dev</c> or <c>v1.16.3</c>; null for anything else.</summary>
    internal static Version? Parse(string? reported) =>
        reported is { Length: > 0 } && Version.TryParse(reported.TrimStart('v').Split('-', '+')[0], out var version) ? version : null;
}

/// <summary>
/// The Qdrant the worker talks to cannot keep what the worker promises (too old, or it does not say). Not the job's
/// fault: jobs are tried again later, never poisoned for it, and <c>/readyz</c> says why.
/// </summary>
internal sealed class QdrantUnsupportedException(string message) : Exception(message);
