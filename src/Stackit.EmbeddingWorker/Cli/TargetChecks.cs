using System.Globalization;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Backfill;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// What a backfill's target must pass after the copy and before the switch (<see cref="BackfillPlanner"/>, steps 4
/// and 5): its index built and the collection green, and its recall checked. Each answers null when passed, else why
/// the alias is not switched.
/// </summary>
internal sealed class TargetChecks(
    QdrantClient client,
    CollectionProvisioner collections,
    BackfillOptions options,
    QdrantOptions qdrant,
    TextWriter output,
    TimeProvider time)
{
    /// <summary>
    /// Enables the index of a target created without one and waits until Qdrant reports the collection green (grey:
    /// optimizations wait for a trigger, which an empty update gives). Null when green; else why the switch waits.
    /// </summary>
    public async Task<string?> BuildIndexAsync(string target, DateTimeOffset deadline, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        var info = await client.GetCollectionInfoAsync(target, cancellationToken).ConfigureAwait(false);
        if (info.Config?.HnswConfig is { M: 0 })
        {
            var hnsw = CollectionLayout.IndexEnabled(qdrant);
            await client.UpdateCollectionAsync(target, hnswConfig: hnsw, cancellationToken: cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"Building the index of {target} (HNSW m={hnsw.M}, ef_construct={hnsw.EfConstruct}); the switch waits until the collection is green.").ConfigureAwait(false);
        }
        var reportedAt = time.GetUtcNow();
        while (true)
        {
            info = await client.GetCollectionInfoAsync(target, cancellationToken).ConfigureAwait(false);
            switch (info.Status)
            {
                case CollectionStatus.Green:
                    return null;
                case CollectionStatus.Red:
                    return $"Qdrant reports {target} red (an optimization failed; see Qdrant's log); the alias is not switched.";
                case CollectionStatus.Grey:
                    await client.UpdateCollectionAsync(target, optimizersConfig: new OptimizersConfigDiff(), cancellationToken: cancellationToken).ConfigureAwait(false);
                    break;
            }
            if (time.GetUtcNow() >= deadline)
            {
                return $"{target} is still {info.Status.ToString().ToLowerInvariant()} (its index is being built) after the timeout; the alias is not switched. Run the backfill again to go on.";
            }
            if (time.GetUtcNow() - reportedAt >= TimeSpan.FromMinutes(1))
            {
                await output.WriteLineAsync($"{target} is {info.Status.ToString().ToLowerInvariant()}: {info.IndexedVectorsCount} of {info.PointsCount} vectors indexed.").ConfigureAwait(false);
                reportedAt = time.GetUtcNow();
            }
            await Task.Delay(pollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Null when enough sampled chunks find themselves in the target; else the figures and why it matters.</summary>
    public async Task<string?> CheckRecallAsync(RecallCheck recall, string target, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync($"Checking recall: up to {options.VerifySample} chunks of {target}, chosen at random, are embedded again and searched for.").ConfigureAwait(false);
        var multimodal = (await collections.ReadModelAsync(target, cancellationToken).ConfigureAwait(false)).Model.Multimodal;
        var result = await recall.RunAsync(target, await collections.ReadShapeAsync(target, cancellationToken).ConfigureAwait(false), options.VerifySample, cancellationToken, multimodal).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Recall check: {result.Found} of {result.Sampled} sampled chunks found themselves among their {RecallCheck.Neighbours} nearest ({result.Rate * 100:0.0} %; Backfill:MinSelfHitRate is {options.MinSelfHitRate * 100:0.0} %).")).ConfigureAwait(false);
        if (result.Rate >= options.MinSelfHitRate)
        {
            return null;
        }
        var missed = string.Join(", ", result.Missed.Take(10)) + (result.Missed.Count > 10 ? $" and {result.Missed.Count - 10} more" : "");
        return $"recall is below Backfill:MinSelfHitRate; the alias is not switched. Not found: {missed}. Either the target's vectors do not fit its texts " +
            "(another model or vector size than the endpoint gives now?) or its index loses too much (Qdrant:HnswM, Qdrant:Quantization). " +
            "Fix the cause, run backfill --abort (it deletes the target and its marker), and run the backfill again.";
    }
}
