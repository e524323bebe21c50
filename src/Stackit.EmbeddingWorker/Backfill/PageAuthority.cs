using Qdrant.Client;
using Stackit.EmbeddingWorker.Pipeline;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// Whether a backfill page may be worked on. Anyone who can write the backfill queue can put a page there, so a page
/// is taken only when it names a backfill that runs, or has just switched, in a collection this worker writes:
/// <list type="bullet">
/// <item>its alias is <c>Qdrant:Collection</c> or one of <c>Qdrant:AllowedCollections</c> (the multimodal collection
/// only when its points keep their images, <c>Qdrant:StoreImages</c>), and an alias in Qdrant;</item>
/// <item>its target is what the marker <c>&lt;alias&gt;_next</c> points to (a backfill runs), or what the alias
/// points to (it has switched);</item>
/// <item>its source is what the alias points to, or what <c>&lt;alias&gt;_previous</c> points to (the collection
/// the last switch left);</item>
/// <item>with <c>Backfill:PageKey</c> set, it carries that key's signature.</item>
/// </list>
/// Anything else is poisoned with the reason: nothing is copied from, or deleted in, a collection it names.
/// </summary>
internal sealed class PageAuthority(QdrantClient client, CollectionRouting routing, BackfillOptions options, bool imagesKept = false)
{
    /// <summary>Why the page must not be worked on, or null.</summary>
    public async Task<string?> RefusalAsync(BackfillPage page, CancellationToken cancellationToken)
    {
        if (options.PageKey is { Length: > 0 } key && !PageSignature.IsValid(page, key))
        {
            return "the page is not signed with Backfill:PageKey; it was not made by a replica or the backfill command of this deployment.";
        }
        var multimodal = string.Equals(page.Alias, routing.Multimodal, StringComparison.Ordinal);
        if (multimodal ? !imagesKept : !(string.Equals(page.Alias, routing.Default, StringComparison.Ordinal) || routing.Allowed.Contains(page.Alias)))
        {
            return $"'{page.Alias}' is not a collection this worker writes (Qdrant:Collection, Qdrant:AllowedCollections).";
        }
        var aliases = (await client.ListAliasesAsync(cancellationToken).ConfigureAwait(false))
            .ToDictionary(a => a.AliasName, a => a.CollectionName, StringComparer.Ordinal);
        if (!aliases.TryGetValue(page.Alias, out var current))
        {
            return $"'{page.Alias}' is not an alias in Qdrant, so no backfill of it can run.";
        }
        var marker = aliases.GetValueOrDefault(BackfillAliases.Next(page.Alias));
        if (!string.Equals(page.Target, marker, StringComparison.Ordinal) && !string.Equals(page.Target, current, StringComparison.Ordinal))
        {
            return $"target '{page.Target}' is neither the running backfill's ({marker ?? "none runs"}) nor what '{page.Alias}' points to ('{current}').";
        }
        var previous = aliases.GetValueOrDefault(BackfillAliases.Previous(page.Alias));
        if (page.Source is { } source && !string.Equals(source, current, StringComparison.Ordinal) && !string.Equals(source, previous, StringComparison.Ordinal))
        {
            return $"source '{source}' is neither what '{page.Alias}' points to ('{current}') nor what it pointed to before its last switch ('{previous ?? "none"}').";
        }
        return null;
    }
}
