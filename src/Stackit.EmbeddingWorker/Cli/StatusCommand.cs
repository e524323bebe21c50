using System.CommandLine;
using Azure;
using Grpc.Core;
using Qdrant.Client;

namespace Stackit.EmbeddingWorker.Cli;

/// <summary><c>status</c>: the work and poison queues' lengths and each collection's point count. Exit code 1 if anything does not answer.</summary>
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

        using var qdrant = new QdrantClient(context.Qdrant.Endpoint, context.Qdrant.ApiKey);
        foreach (var collection in context.Qdrant.AllowedCollections.Prepend(context.Qdrant.Collection).Distinct(StringComparer.Ordinal))
        {
            try
            {
                if (!await qdrant.CollectionExistsAsync(collection, cancellationToken).ConfigureAwait(false))
                {
                    await context.Output.WriteLineAsync($"collection {collection}: does not exist").ConfigureAwait(false);
                    continue;
                }
                var info = await qdrant.GetCollectionInfoAsync(collection, cancellationToken).ConfigureAwait(false);
                await context.Output.WriteLineAsync($"collection {collection}: {info.PointsCount} points ({info.Status.ToString().ToLowerInvariant()})").ConfigureAwait(false);
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
