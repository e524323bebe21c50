using Azure.Storage.Queues;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>The queue service a run uses: Azurite, or the queue stand-in for scales Azurite cannot hold (<c>--queue stand-in</c>).</summary>
internal sealed record QueueService(string Name, string ConnectionString, Func<string, QueueClient> Queue);
