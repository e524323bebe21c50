using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Azure.Storage.Queues.Models;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Preparation;
using Stackit.EmbeddingWorker.Tokens;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// The baseline: what a first version of such a worker usually looks like. One request per document (its
/// chunks, no packing across documents; a document longer than one request allows goes in several), a fixed number of requests in flight, float vectors, one upsert and
/// one delete per document, and a plain wait on 429. Runs in its own process (<c>naive-client</c>).
/// </summary>
internal static class NaiveClient
{
    // 512-token chunks, 4,096 tokens a request at the simulated endpoint.
    private const int ChunksPerRequest = 7;

    public static async Task RunAsync()
    {
        using var connections = BaselineConnections.FromEnvironment("NAIVE_", TimeSpan.FromMinutes(5));
        var (queue, qdrant, collection, http) = (connections.Queue, connections.Qdrant, connections.Collection, connections.Http);
        var chunker = new TextChunker(new ChunkingOptions(), new CalibratedTokenEstimator(new TokenCalibration(0.05)));
        var concurrency = connections.IntegerSetting("CONCURRENCY");
        var messages = Channel.CreateBounded<QueueMessage>(64);
        // Every worker waits for the one creation: an upsert before it would find no collection.
        Task? creation = null;
        var creating = new Lock();

        async Task WorkAsync()
        {
            await foreach (var message in messages.Reader.ReadAllAsync())
            {
                try
                {
                    await HandleAsync(message);
                }
                catch (Exception ex)
                {
                    // A failed document stays leased until its visibility ends; the worker goes on with the next, so the
                    // baseline keeps its concurrency for the whole run instead of losing a worker to each failure.
                    await Console.Error.WriteLineAsync($"naive client: {message.MessageId} failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        Task EnsureCollectionAsync(ulong size)
        {
            lock (creating)
            {
                return creation ??= CreateAsync(size);
            }
        }

        async Task CreateAsync(ulong size)
        {
            if (!await qdrant.CollectionExistsAsync(collection))
            {
                await qdrant.CreateCollectionAsync(collection, new VectorParams { Size = size, Distance = Distance.Cosine });
            }
        }

        async Task HandleAsync(QueueMessage message)
        {
            using var job = JsonDocument.Parse(message.Body.ToMemory());
            var id = job.RootElement.GetProperty("id").GetString()!;
            var chunks = chunker.Chunk(job.RootElement.GetProperty("text").GetString()!);
            var vectors = new List<float[]>();
            foreach (var request in chunks.Chunk(ChunksPerRequest))
            {
                vectors.AddRange(await EmbedAsync(http, request));
            }
            await EnsureCollectionAsync((ulong)vectors[0].Length);
            var points = chunks.Select((text, i) => new PointStruct
            {
                Id = new PointId { Uuid = PointUuid(id, i).ToString() },
                Vectors = vectors[i],
                Payload = { ["doc_id"] = id, ["chunk_index"] = i, ["text"] = text },
            }).ToList();
            await qdrant.UpsertAsync(collection, points, wait: true);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        }

        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkAsync)).ToList();
        await Task.WhenAll(workers.Append(Task.Run(() => connections.ReceiveForeverAsync(TimeSpan.FromMilliseconds(200), message => messages.Writer.WriteAsync(message)))));
    }

    private static async Task<float[][]> EmbedAsync(HttpClient http, IReadOnlyList<string> inputs)
    {
        while (true)
        {
            using var response = await http.PostAsJsonAsync("embeddings", new { model = "bench/e5-like", input = inputs, encoding_format = "float" });
            if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
            {
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            response.EnsureSuccessStatusCode();
            using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            var vectors = new float[inputs.Count][];
            foreach (var item in body.RootElement.GetProperty("data").EnumerateArray())
            {
                vectors[item.GetProperty("index").GetInt32()] = [.. item.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle())];
            }
            return vectors;
        }
    }

    private static Guid PointUuid(string id, int chunk)
    {
        var hash = MD5.HashData(Encoding.UTF8.GetBytes($"{id}/{chunk}"));
        return new Guid(hash);
    }
}
