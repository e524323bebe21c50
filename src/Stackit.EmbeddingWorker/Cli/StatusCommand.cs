using System.CommandLine;
using Azure;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary>
/// <c>status</c>: the work and poison queues' lengths, each collection's point count (through its alias) and a running
/// backfill's progress. Exit code 1 if anything does not answer.
/// </summary>
internal static class StatusCommand
{
    public static Command Create(Func<CliContext> context)
    {
        var command = new Command("status", "Show queue depths and collection point counts.");
        command.SetAction((_, cancellationToken) => RunAsync(context(), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var healthy = true;
        foreach (var queue in new[] { context.Queues.Live, context.Queues.PoisonOf(context.Queue.Name) })
        {
            try
            {
                var length = await context.Queues.ApproximateLengthAsync(queue.Name, cancellationToken).ConfigureAwait(false);
                await context.Output.WriteLineAsync($"queue {queue.Name}: {(length is { } count ? $"{count} messages" : "does not exist")}").ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
            {
                healthy = false;
                await context.Output.WriteLineAsync($"queue {queue.Name}: unreachable ({ex.Message.Split('\n')[0]})").ConfigureAwait(false);
            }
        }

        using var qdrant = QdrantClients.Create(context.Qdrant, TimeSpan.Zero);
        // Without the embeddings settings (status needs none): a collection without a record shows the model its points name.
        var collections = new CollectionProvisioner(qdrant, context.Qdrant, NullLogger<CollectionProvisioner>.Instance);
        IReadOnlyDictionary<string, string>? aliases = null;
        foreach (var collection in context.Qdrant.AllowedCollections.Prepend(context.Qdrant.Collection).Append(context.Qdrant.MultimodalCollection).Distinct(StringComparer.Ordinal))
        {
            try
            {
                // Collections are aliases of versioned ones (documents → documents_v1); a backfill adds <name>_next.
                aliases ??= await collections.AliasesAsync(cancellationToken).ConfigureAwait(false);
                var physical = await collections.ResolveAsync(collection, aliases, cancellationToken).ConfigureAwait(false);
                var name = physical is null || physical == collection ? collection : $"{collection} → {physical}";
                if (physical is null)
                {
                    await context.Output.WriteLineAsync($"collection {name}: does not exist").ConfigureAwait(false);
                    continue;
                }
                var info = await qdrant.GetCollectionInfoAsync(physical, cancellationToken).ConfigureAwait(false);
                var (model, recorded) = await collections.ReadModelAsync(collection, cancellationToken).ConfigureAwait(false);
                var configured = context.ConfiguredModel(string.Equals(collection, context.Qdrant.MultimodalCollection, StringComparison.Ordinal));
                var pending = recorded && configured is { Length: > 0 } && !string.Equals(configured, model.Model, StringComparison.Ordinal)
                    ? $"; configured {configured}: a backfill is pending" : "";
                await context.Output.WriteLineAsync($"collection {name}: {info.PointsCount} points ({info.Status.ToString().ToLowerInvariant()}), model {model}{(recorded ? "" : " (no record: read from its points or the configuration)")}{pending}").ConfigureAwait(false);
                if (aliases.TryGetValue(BackfillAliases.Next(collection), out var target))
                {
                    var copied = await qdrant.GetCollectionInfoAsync(target, cancellationToken).ConfigureAwait(false);
                    var queued = await context.Queues.ApproximateLengthAsync(context.Backfill.QueueName(context.Queue.Name), cancellationToken).ConfigureAwait(false);
                    await context.Output.WriteLineAsync(BackfillProgress.From(copied.Config?.Metadata) is { } progress
                        ? $"  backfill into {target} runs: {progress.Describe(queued ?? 0, copied.PointsCount, DateTimeOffset.UtcNow)}"
                        : $"  backfill into {target} runs: {copied.PointsCount} points copied, {queued ?? 0} pages queued").ConfigureAwait(false);
                }
            }
            catch (RpcException ex)
            {
                healthy = false;
                await context.Output.WriteLineAsync($"collection {collection}: unreachable ({ex.Status.StatusCode})").ConfigureAwait(false);
            }
        }
        return healthy ? 0 : 1;
    }
}
