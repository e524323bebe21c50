using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// Runs one backfill of an alias from start to switch, or resumes the one that runs. A new one first compares the
/// served collection with the one it would build (<see cref="LayoutDifferences"/>): the same, it is "up to date" and
/// only old collections are cleaned up (<see cref="BackfillCollections"/>), unless forced. Otherwise it
/// 1. creates the target collection (<c>&lt;alias&gt;_v&lt;n+1&gt;</c>) with its model record and the marker alias
///    <c>&lt;alias&gt;_next</c>, then waits until every replica records live changes (<see cref="BackfillCapture"/>);
/// 2. puts every document of the source on the backfill queue, in pages, for all replicas to copy (<see cref="BackfillEnqueuer"/>);
/// 3. waits until the queue is empty, fails if a page was poisoned, and checks that both sides hold as many points;
/// 4. builds the target's index if it was created without one (bulk mode, <c>Backfill:DeferIndexing</c>) and waits
///    until Qdrant reports it green;
/// 5. checks recall: a sample of the target's chunks, embedded again, must find themselves (<see cref="RecallCheck"/>);
/// 6. switches the alias to the target and removes the marker, in steps that never leave the alias missing
///    (<see cref="SwitchSteps"/>), then deletes the collections older than those kept.
/// Interrupted anywhere, it is run again: it finds the marker and goes on with the same target; pages copied
/// before cost reads only.
/// </summary>
internal sealed class BackfillPlanner(
    QdrantClient client,
    CollectionProvisioner collections,
    WorkQueues queues,
    BackfillOptions options,
    QueueOptions queue,
    QdrantOptions qdrant,
    TextWriter output,
    TimeProvider time,
    RecallCheck? recall = null,
    EmbeddingsOptions? embeddings = null,
    IEmbeddingClient? endpoint = null)
{
    /// <summary>The longest wait between two counts of a copy whose collections still differ.</summary>
    private static readonly TimeSpan MaxCountWait = TimeSpan.FromSeconds(30);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static DateTimeOffset Earlier(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private readonly BackfillCollections _cleanup = new(client, collections, queues, options, queue, output);
    private readonly BackfillEnqueuer _enqueuer = new(client, queues, options, queue, time, embeddings, endpoint);

    public async Task<int> RunAsync(string alias, string? requestedTarget, bool switchAlias, TimeSpan timeout, TimeSpan pollInterval, CancellationToken cancellationToken, bool force = false)
    {
        if (string.Equals(alias, qdrant.MultimodalCollection, StringComparison.Ordinal) && await ImagesMissingAsync(alias, cancellationToken).ConfigureAwait(false) is { } missing)
        {
            return await FailAsync(missing).ConfigureAwait(false);
        }
        var aliases = await collections.AliasesAsync(cancellationToken).ConfigureAwait(false);
        if (!aliases.TryGetValue(alias, out var source))
        {
            return await FailAsync(await client.CollectionExistsAsync(alias, cancellationToken).ConfigureAwait(false)
                ? $"'{alias}' is a collection, not an alias, so it cannot be switched atomically. See docs/backfill.md for moving it behind an alias once."
                : $"there is no alias '{alias}' to backfill.").ConfigureAwait(false);
        }

        var marker = BackfillAliases.Next(alias);
        CollectionModel? targetModel = null;
        if (!aliases.ContainsKey(marker))
        {
            var (model, differences) = await CompareAsync(alias, source, cancellationToken).ConfigureAwait(false);
            if (differences.Count == 0 && !force)
            {
                await output.WriteLineAsync($"{alias} ({source}) is up to date: a backfill would build the same collection ({model}, same layout), so nothing is embedded or created. --force rebuilds it anyway.").ConfigureAwait(false);
                await _cleanup.RemoveOldAsync(alias, cancellationToken).ConfigureAwait(false);
                return 0;
            }
            await output.WriteLineAsync(differences.Count == 0
                ? $"{alias} ({source}) is up to date; rebuilding it anyway (--force)."
                : $"{alias} ({source}) differs from what a backfill builds now: {string.Join("; ", differences)}.").ConfigureAwait(false);
            targetModel = model;
        }

        // The queues first: replicas record live changes on it as soon as they see the marker.
        var backfill = queues.Get(options.QueueName(queue.Name));
        var poison = queues.PoisonOf(backfill.Name);
        await backfill.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

        string target;
        if (aliases.TryGetValue(marker, out var running) && string.Equals(running, source, StringComparison.Ordinal))
        {
            return await FinishSwitchAsync(alias, running, cancellationToken).ConfigureAwait(false);
        }
        if (running is not null)
        {
            if (requestedTarget is not null && !string.Equals(requestedTarget, running, StringComparison.Ordinal))
            {
                return await FailAsync($"a backfill of '{alias}' into '{running}' runs already; finish it (run without --target) or remove the alias '{marker}'.").ConfigureAwait(false);
            }
            target = running;
            await output.WriteLineAsync($"Resuming the backfill of {alias} ({source}) into {target}.").ConfigureAwait(false);
        }
        else
        {
            target = requestedTarget ?? NextVersion(alias, source);
            if (await client.CollectionExistsAsync(target, cancellationToken).ConfigureAwait(false))
            {
                return await FailAsync($"collection '{target}' exists already; delete it or name another with --target.").ConfigureAwait(false);
            }
            await collections.CreateCollectionAsync(target, targetModel!.VectorSize, cancellationToken, options.DeferIndexing, targetModel).ConfigureAwait(false);
            await client.CreateAliasAsync(marker, target, cancellationToken: cancellationToken).ConfigureAwait(false);
            var settle = options.MarkerRefresh * 2;
            await output.WriteLineAsync($"Started the backfill of {alias} ({source}) into {target}; waiting {settle.TotalSeconds:0} s until every replica records live changes.").ConfigureAwait(false);
            await Task.Delay(settle, time, cancellationToken).ConfigureAwait(false);
        }

        var poisonedBefore = await queues.ApproximateLengthAsync(poison.Name, cancellationToken).ConfigureAwait(false) ?? 0;

        // Same model and size: the copy takes every unchanged chunk's vector from the source, so there is nothing to count.
        var reuses = (await collections.ReadModelAsync(alias, cancellationToken).ConfigureAwait(false)).Model
            .SameVectorsAs((await collections.ReadModelAsync(target, cancellationToken).ConfigureAwait(false)).Model);
        var (progress, counting) = await _enqueuer.EnqueueAllAsync(alias, source, target, reuses, cancellationToken).ConfigureAwait(false);
        var pages = $"{progress.Pages:N0} page{(progress.Pages == 1 ? "" : "s")} of up to {_enqueuer.PageSizeOf(reuses)}";
        await output.WriteLineAsync(reuses
            ? $"Enqueued {progress.Documents:N0} documents ({progress.Chunks:N0} chunks) on {backfill.Name} in {pages}; the target has the source's model and size, so each chunk's vector is copied from {source}, and only what changes meanwhile is embedded."
            : $"Enqueued {progress.Documents:N0} documents ({progress.Chunks:N0} chunks, ~{progress.Tokens:N0} tokens: {counting}) on {backfill.Name} in {pages}.").ConfigureAwait(false);

        var deadline = time.GetUtcNow() + timeout;
        // Live changes still on their way make the counts differ for a while (a job written to the source whose replica
        // was killed before it recorded the change comes back after its lease): counted again, less often each time, for
        // two live leases or two marker refreshes after the first difference, whichever is longer (within the timeout).
        DateTimeOffset? differsUntil = null;
        for (var wait = pollInterval; ; wait = Min(wait * 2, MaxCountWait))
        {
            if (await WaitUntilCopiedAsync(backfill.Name, poison.Name, poisonedBefore, target, progress, deadline, pollInterval, cancellationToken).ConfigureAwait(false) is { } failure)
            {
                return await FailAsync(failure).ConfigureAwait(false);
            }
            var sourcePoints = await client.CountAsync(alias, exact: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            var targetPoints = await client.CountAsync(target, exact: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"{alias} ({source}) holds {sourcePoints} points, {target} holds {targetPoints}.").ConfigureAwait(false);
            if (sourcePoints == targetPoints)
            {
                break;
            }
            differsUntil ??= Earlier(time.GetUtcNow() + (Max(queue.VisibilityTimeout, options.MarkerRefresh) * 2), deadline);
            if (time.GetUtcNow() >= differsUntil)
            {
                return await FailAsync("the two collections still differ; live changes may still be arriving. Run the backfill again to go on.").ConfigureAwait(false);
            }
            // Documents the target holds but the source no longer does (deleted while their page was copied).
            var extra = await _enqueuer.EnqueueMissingAsync(alias, source, target, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"Enqueued {extra} documents only the target holds; counting again in {wait.TotalSeconds:0.#} s.").ConfigureAwait(false);
            await Task.Delay(Min(wait, Max(differsUntil.Value - time.GetUtcNow(), TimeSpan.Zero)), time, cancellationToken).ConfigureAwait(false);
        }

        if (!switchAlias)
        {
            await output.WriteLineAsync($"Copy complete; {alias} still points to {source} (--no-switch). Run again without --no-switch to build the index, check recall and switch.").ConfigureAwait(false);
            return 0;
        }
        var checks = new TargetChecks(client, collections, options, qdrant, output, time);
        if (await checks.BuildIndexAsync(target, deadline, pollInterval, cancellationToken).ConfigureAwait(false) is { } notIndexed)
        {
            return await FailAsync(notIndexed).ConfigureAwait(false);
        }
        if (recall is not null && options.VerifySample > 0 && await checks.CheckRecallAsync(recall, target, cancellationToken).ConfigureAwait(false) is { } lost)
        {
            return await FailAsync(lost).ConfigureAwait(false);
        }
        // <alias>_previous names the collection the switch leaves: pages recorded just before the switch still copy
        // from it (PageAuthority), and an operator can switch back to it.
        await client.UpdateAliasesAsync(SwitchSteps(alias, source, target), cancellationToken: cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"Switched {alias} to {target} (was {source}, now also {BackfillAliases.Previous(alias)}).").ConfigureAwait(false);
        await _cleanup.RemoveOldAsync(alias, cancellationToken).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Why the multimodal collection cannot be embedded again, or null: its points must keep their images
    /// (<c>Qdrant:StoreImages</c>), every one of them.
    /// </summary>
    private async Task<string?> ImagesMissingAsync(string alias, CancellationToken cancellationToken)
    {
        if (!qdrant.StoreImages)
        {
            return $"'{alias}' holds multimodal points, and Qdrant:StoreImages is off, so their images are not kept and they cannot be embedded again.";
        }
        var without = new Filter { Must = { new Condition { IsEmpty = new IsEmptyCondition { Key = PayloadFields.Images } } } };
        var missing = await client.CountAsync(alias, without, exact: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        return missing == 0 ? null
            : $"{missing} points of '{alias}' hold no images (written while Qdrant:StoreImages was off), so they cannot be embedded again. Send their jobs again, then run the backfill.";
    }

    /// <summary>
    /// The model a backfill embeds with (<c>Embeddings:Model</c> and <c>Dimensions</c>: the model of collections the worker
    /// creates) and what a collection built now would do differently from the source; none means up to date. The
    /// target's vector size is the source's for the same model and dimensions, else what the endpoint answers.
    /// </summary>
    private async Task<(CollectionModel Model, List<string> Differences)> CompareAsync(string alias, string source, CancellationToken cancellationToken)
    {
        var info = await client.GetCollectionInfoAsync(source, cancellationToken).ConfigureAwait(false);
        var shape = CollectionShape.Of(alias, info, null);
        var (sourceModel, recorded) = await collections.ReadModelAsync(alias, cancellationToken).ConfigureAwait(false);
        // The multimodal collection is embedded with Embeddings:MultimodalModel, every other with Embeddings:Model.
        var multimodal = string.Equals(alias, qdrant.MultimodalCollection, StringComparison.Ordinal);
        var (configured, dimensions) = embeddings?.ModelFor(multimodal) ?? (null, null);
        var model = configured ?? sourceModel.Model;
        if (!recorded && string.Equals(model, sourceModel.Model, StringComparison.Ordinal))
        {
            // A collection from before the record: written with the configured dimensions, as it was then.
            sourceModel = sourceModel with { Dimensions = dimensions };
        }
        var size = string.Equals(model, sourceModel.Model, StringComparison.Ordinal) && dimensions == sourceModel.Dimensions
            ? sourceModel.VectorSize
            : endpoint is not null ? (ulong)(await endpoint.EmbedAsync(["The size of this model's vectors."], cancellationToken).ConfigureAwait(false)).Vectors[0].Length : sourceModel.VectorSize;
        var target = new CollectionModel(model, size, dimensions, multimodal);
        return (target, LayoutDifferences.Between(info, sourceModel, qdrant, target, shape.Bm25Language));
    }

    /// <summary>
    /// The switch as Qdrant applies it: step by step, each step kept if a later one fails (toc/collection_meta_ops.rs
    /// <c>update_aliases</c>), creating an alias that exists re-points it. So there is no step without the alias: first
    /// <c>&lt;alias&gt;_previous</c> names the source, then the alias is re-pointed to the target, then the marker goes.
    /// Stopped after the first step, the backfill is still running (the next run switches); after the second, the next
    /// run finds the marker naming what the alias serves and only removes it (<see cref="FinishSwitchAsync"/>).
    /// </summary>
    internal static List<AliasOperations> SwitchSteps(string alias, string source, string target) =>
    [
        new() { CreateAlias = new CreateAlias { AliasName = BackfillAliases.Previous(alias), CollectionName = source } },
        new() { CreateAlias = new CreateAlias { AliasName = alias, CollectionName = target } },
        new() { DeleteAlias = new DeleteAlias { AliasName = BackfillAliases.Next(alias) } },
    ];

    /// <summary>A switch stopped after the alias was re-pointed: the marker that still names the served collection goes.</summary>
    private async Task<int> FinishSwitchAsync(string alias, string target, CancellationToken cancellationToken)
    {
        await client.DeleteAliasAsync(BackfillAliases.Next(alias), cancellationToken: cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"{alias} points to {target} already (a switch was interrupted after it); removed the marker {BackfillAliases.Next(alias)}.").ConfigureAwait(false);
        return 0;
    }

    /// <summary><c>documents_v3</c> after <c>documents_v2</c>; <c>documents_v2</c> after anything else.</summary>
    internal static string NextVersion(string alias, string source) =>
        $"{alias}_v{(BackfillCollections.Generation(alias, source) ?? 1) + 1}";

    /// <summary>Null once the queue is empty (pages in work count as in it); else why the backfill stops here.</summary>
    private async Task<string?> WaitUntilCopiedAsync(string backfill, string poison, long poisonedBefore, string target, BackfillProgress progress, DateTimeOffset deadline, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        var reportedAt = time.GetUtcNow();
        while (true)
        {
            var poisoned = (await queues.ApproximateLengthAsync(poison, cancellationToken).ConfigureAwait(false) ?? 0) - poisonedBefore;
            if (poisoned > 0)
            {
                return $"{poisoned} backfill pages were poisoned (see {poison}); the alias is not switched. Fix the cause, replay them, and run the backfill again.";
            }
            var left = await queues.ApproximateLengthAsync(backfill, cancellationToken).ConfigureAwait(false) ?? 0;
            if (left == 0)
            {
                return null;
            }
            if (time.GetUtcNow() >= deadline)
            {
                return $"{left} pages are still queued after the timeout; the alias is not switched. Run the backfill again to go on.";
            }
            if (time.GetUtcNow() - reportedAt >= TimeSpan.FromMinutes(1))
            {
                var copied = await client.CountAsync(target, exact: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"{left:N0} pages queued: {progress.Describe(left, copied, time.GetUtcNow())}.").ConfigureAwait(false);
                reportedAt = time.GetUtcNow();
            }
            await Task.Delay(pollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<int> FailAsync(string reason)
    {
        await output.WriteLineAsync($"Backfill stopped: {reason}").ConfigureAwait(false);
        return 1;
    }
}
