using System.Text.RegularExpressions;
using Qdrant.Client;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// The collections backfills of an alias leave behind: <c>&lt;alias&gt;_v&lt;n&gt;</c> by generation, those older than
/// <c>Backfill:KeepPrevious</c> deleted after a switch or on a night with nothing to do, and a running backfill given up
/// (<c>backfill --abort</c>).
/// </summary>
internal sealed class BackfillCollections(QdrantClient client, CollectionProvisioner collections, WorkQueues queues, BackfillOptions options, QueueOptions queue, TextWriter output)
{
    /// <summary>
    /// Deletes the collections a backfill of <paramref name="alias"/> made (<c>&lt;alias&gt;_v&lt;n&gt;</c>) that no alias names
    /// and that are older than the newest <c>Backfill:KeepPrevious</c> before the served one, once no backfill page is
    /// queued (a page could name one); other collections are never deleted by the worker.
    /// </summary>
    public async Task RemoveOldAsync(string alias, CancellationToken cancellationToken)
    {
        var aliases = await collections.AliasesAsync(cancellationToken).ConfigureAwait(false);
        if (!aliases.TryGetValue(alias, out var served) || Generation(alias, served) is not { } servedGeneration)
        {
            return;
        }
        var named = aliases.Values.ToHashSet(StringComparer.Ordinal);
        var older = (await client.ListCollectionsAsync(cancellationToken).ConfigureAwait(false))
            .Select(name => (Name: name, Generation: Generation(alias, name)))
            .Where(c => c.Generation < servedGeneration)
            .OrderByDescending(c => c.Generation)
            .ToList();
        var doomed = older.Skip(options.KeepPrevious).Where(c => !named.Contains(c.Name)).ToList();
        if (doomed.Count == 0)
        {
            return;
        }
        if ((await queues.ApproximateLengthAsync(options.QueueName(queue.Name), cancellationToken).ConfigureAwait(false) ?? 0) > 0)
        {
            await output.WriteLineAsync($"Backfill pages are still queued; {string.Join(", ", doomed.Select(c => c.Name))} are kept until a later run.").ConfigureAwait(false);
            return;
        }
        foreach (var (name, _) in doomed)
        {
            await client.DeleteCollectionAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"Deleted {name}: older than the {options.KeepPrevious} collection(s) kept before {served} (Backfill:KeepPrevious).").ConfigureAwait(false);
        }
    }

    /// <summary>3 for <c>documents_v3</c>; null for any other name (never deleted by the worker).</summary>
    internal static int? Generation(string alias, string collection)
    {
        var match = Regex.Match(collection, "^" + Regex.Escape(alias) + "_v(\\d+)$");
        return match.Success && int.TryParse(match.Groups[1].Value, out var version) ? version : null;
    }

    /// <summary>
    /// <c>backfill --abort</c>: the running backfill of <paramref name="alias"/> is given up; its marker goes, and its target
    /// with it unless an alias serves it. Pages still queued for it are refused (their target is no longer the marker's).
    /// </summary>
    public async Task<int> AbortAsync(string alias, CancellationToken cancellationToken)
    {
        var aliases = await collections.AliasesAsync(cancellationToken).ConfigureAwait(false);
        var marker = BackfillAliases.Next(alias);
        if (!aliases.TryGetValue(marker, out var target))
        {
            await output.WriteLineAsync($"No backfill of {alias} runs (there is no alias {marker}); nothing to abort.").ConfigureAwait(false);
            return 0;
        }
        await client.DeleteAliasAsync(marker, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (aliases.Any(a => a.Key != marker && a.Value == target))
        {
            await output.WriteLineAsync($"Aborted the backfill of {alias}: removed {marker}; {target} is kept, an alias serves it.").ConfigureAwait(false);
            return 0;
        }
        await client.DeleteCollectionAsync(target, cancellationToken: cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"Aborted the backfill of {alias}: removed {marker} and deleted {target}.").ConfigureAwait(false);
        return 0;
    }
}
