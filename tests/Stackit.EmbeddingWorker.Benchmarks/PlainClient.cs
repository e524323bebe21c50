using System.Buffers.Text;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Channels;
using Azure.Storage.Queues.Models;
using Qdrant.Client.Grpc;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// A yardstick for CPU per embedding, not a client anyone should run: the worker's work done the plainest way with
/// the same libraries. It receives 32 messages at a time, cuts texts into 2,000-character pieces (no chunking rules,
/// no overlap, no content hashes), packs requests by the simulated endpoint's own token count from whatever pieces
/// are there when a request slot is free (no estimate, no linger), asks for base64 vectors and decodes them straight
/// into float arrays, upserts up to 128 points at a time (two in flight) with a plain payload through
/// Qdrant.Client's own conversions, and deletes each message when its points are stored. No stored-state reads,
/// tail deletes, retries, validation, metrics, logging or shutdown handling: an error ends the process.
/// The worker's CPU beside this one's shows what its pipeline costs on top of the libraries. Runs in its own
/// process (<c>plain-client</c>).
/// </summary>
internal static class PlainClient
{
    private const int PieceChars = 2_000;
    private const int MaxInFlightMessages = 1_024;
    private const int RequestsInFlight = 16;
    private const int PointsPerUpsert = 128;
    private const int UpsertsInFlight = 2;

    private sealed class Job(string messageId, string popReceipt, string id, int pieces)
    {
        public int Stored;

        public string MessageId => messageId;
        public string PopReceipt => popReceipt;
        public string Id => id;
        public int Pieces => pieces;
    }

    private sealed record Piece(Job Job, int Index, string Text);

    public static async Task RunAsync()
    {
        using var connections = BaselineConnections.FromEnvironment("PLAIN_", TimeSpan.FromSeconds(100));
        var (queue, qdrant, collection, http) = (connections.Queue, connections.Qdrant, connections.Collection, connections.Http);
        var maxInputs = connections.IntegerSetting("MAX_INPUTS");
        var maxTokens = connections.IntegerSetting("MAX_TOKENS");
        await qdrant.CreateCollectionAsync(collection, new VectorParams { Size = (ulong)connections.IntegerSetting("DIMENSIONS"), Distance = Distance.Cosine });

        var leases = new SemaphoreSlim(MaxInFlightMessages);
        var requests = new SemaphoreSlim(RequestsInFlight);
        var upserts = new SemaphoreSlim(UpsertsInFlight);
        var pieces = Channel.CreateBounded<Piece>(4_096);
        var points = Channel.CreateBounded<(Piece Piece, float[] Vector)>(4_096);

        async ValueTask SliceAsync(QueueMessage message)
        {
            await leases.WaitAsync();
            using var document = JsonDocument.Parse(message.Body.ToMemory());
            var text = document.RootElement.GetProperty("text").GetString()!;
            var job = new Job(message.MessageId, message.PopReceipt, document.RootElement.GetProperty("id").GetString()!, (text.Length + PieceChars - 1) / PieceChars);
            for (var i = 0; i < job.Pieces; i++)
            {
                await pieces.Writer.WriteAsync(new Piece(job, i, text.Substring(i * PieceChars, Math.Min(PieceChars, text.Length - (i * PieceChars)))));
            }
        }

        async Task PackAsync()
        {
            Piece? carried = null;
            while (carried is not null || await pieces.Reader.WaitToReadAsync())
            {
                // A slot first: pieces gather while every request is out.
                await requests.WaitAsync();
                var batch = new List<Piece>();
                var tokens = 0;
                while (batch.Count < maxInputs && (carried is not null || pieces.Reader.TryRead(out carried)))
                {
                    var count = SimulatedEndpoint.CountTokens(carried.Text);
                    if (batch.Count > 0 && tokens + count > maxTokens)
                    {
                        break;
                    }
                    batch.Add(carried);
                    tokens += count;
                    carried = null;
                }
                Send(batch);
            }
        }

        void Send(List<Piece> batch)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    var vectors = await EmbedAsync(http, batch);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        await points.Writer.WriteAsync((batch[i], vectors[i]));
                    }
                }
                catch (Exception ex)
                {
                    Fail(ex);
                }
                finally
                {
                    requests.Release();
                }
            });
        }

        async Task StoreAsync()
        {
            var batch = new List<(Piece Piece, float[] Vector)>(PointsPerUpsert);
            while (await points.Reader.WaitToReadAsync())
            {
                while (batch.Count < PointsPerUpsert && points.Reader.TryRead(out var point))
                {
                    batch.Add(point);
                }
                var full = batch;
                batch = new List<(Piece Piece, float[] Vector)>(PointsPerUpsert);
                await upserts.WaitAsync();
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await UpsertAsync(full);
                    }
                    catch (Exception ex)
                    {
                        Fail(ex);
                    }
                    finally
                    {
                        upserts.Release();
                    }
                });
            }
        }

        async Task UpsertAsync(List<(Piece Piece, float[] Vector)> batch)
        {
            await qdrant.UpsertAsync(collection, [.. batch.Select(p => new PointStruct
            {
                Id = new PointId { Uuid = Guid.NewGuid().ToString() },
                Vectors = p.Vector,
                Payload = { ["doc_id"] = p.Piece.Job.Id, ["chunk_index"] = p.Piece.Index, ["chunk_count"] = p.Piece.Job.Pieces, ["text"] = p.Piece.Text },
            })], wait: true);
            foreach (var stored in batch.GroupBy(p => p.Piece.Job))
            {
                if (Interlocked.Add(ref stored.Key.Stored, stored.Count()) == stored.Key.Pieces)
                {
                    await queue.DeleteMessageAsync(stored.Key.MessageId, stored.Key.PopReceipt);
                    leases.Release();
                }
            }
        }

        await Task.WhenAll(Task.Run(() => connections.ReceiveForeverAsync(TimeSpan.FromMilliseconds(100), SliceAsync)), Task.Run(PackAsync), Task.Run(StoreAsync));
    }

    private static async Task<float[][]> EmbedAsync(HttpClient http, List<Piece> batch)
    {
        using var response = await http.PostAsJsonAsync("embeddings", new { model = "bench/e5-like", input = batch.Select(p => p.Text), encoding_format = "base64" });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsByteArrayAsync();
        var vectors = new float[batch.Count][];
        var reader = new Utf8JsonReader(body);
        var index = -1;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                index = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("embedding"u8))
            {
                reader.Read();
                var encoded = reader.ValueSpan;
                var vector = new float[Base64.GetMaxDecodedFromUtf8Length(encoded.Length) / sizeof(float)];
                Base64.DecodeFromUtf8(encoded, MemoryMarshal.AsBytes(vector.AsSpan()), out _, out var written);
                vectors[index] = written == vector.Length * sizeof(float) ? vector : vector[..(written / sizeof(float))];
            }
        }
        return vectors;
    }

    private static void Fail(Exception ex)
    {
        Console.Error.WriteLine($"plain client failed: {ex}");
        Environment.Exit(1);
    }
}
