using System.Diagnostics;
using System.Globalization;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// The <c>backfill</c> scenario: a source collection of many chunks (written straight into the Qdrant stand-in as the
/// worker writes them, with the model record), one worker process to copy pages, and the <c>backfill</c> command in a
/// process of its own: (c) the nightly run with nothing changed, (a) a layout-only migration (HNSW m 16 → 32) beside a
/// plain scroll-and-upsert loop against the same stand-in in the same run. The simulated endpoint answers every input
/// with one vector, so the recall check runs with <c>Backfill:MinSelfHitRate</c> 0 (it costs its sample, it proves nothing here).
/// </summary>
internal sealed partial class BenchmarkRunner
{
    private const string BenchModel = "bench/e5-like";
    private const int BackfillDimensions = 256;
    private const int RecallSample = 20;

    public async Task<IReadOnlyList<string>> BackfillAsync(EndpointModel model, int documents, int chunksPerDocument)
    {
        var bench = model with { Dimensions = BackfillDimensions };
        endpoint.Reset(bench);
        qdrant.Store.KeepVectors = true; // copies read vectors back from the source
        try
        {
            var alias = "bf" + Guid.NewGuid().ToString("N")[..8];
            var client = qdrant.CreateClient();
            var options = new QdrantOptions { Endpoint = qdrant.Endpoint, Collection = alias };
            var chunks = await SeedSourceAsync(client, alias, options, documents, chunksPerDocument);
            var queue = queues.Queue(alias);
            await queue.CreateAsync();
            var environment = WorkerEnvironment(queue.Name, alias, bench, FreePort.OnLoopback());
            environment["Backfill__MarkerRefresh"] = "00:00:01";
            environment["Backfill__VerifySample"] = RecallSample.ToString(CultureInfo.InvariantCulture);
            environment["Backfill__MinSelfHitRate"] = "0";
            // Backfill__* settings of this program's environment reach the worker and the command: for trying them.
            foreach (var (key, value) in Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .Select(e => ((string)e.Key, (string?)e.Value)).Where(e => e.Item1.StartsWith("Backfill__", StringComparison.Ordinal) && e.Item2 is not null))
            {
                environment[key] = value!;
            }
            await using var worker = ClientProcess.Start(WorkerDll, [], environment, Path.Combine(settings.LogDirectory, "backfill-worker.log"));
            await Task.Delay(TimeSpan.FromSeconds(3));

            var lines = new List<string>();
            var (unchanged, _) = await RunCommandAsync("backfill-unchanged", environment, alias + "_v2", chunks);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"- (c) unchanged re-run: {unchanged.Tokens:N0} tokens embedded, {unchanged.Upserts:N0} upserts, {unchanged.Created} collections created, {unchanged.Seconds:F1} s (exit {unchanged.Exit})"));

            environment["Qdrant__HnswM"] = "32";
            var (layout, copyRate) = await RunCommandAsync("backfill-layout", environment, alias + "_v2", chunks);
            var plainRate = await PlainCopyRateAsync(client, alias + "_v1", alias + "_plain", options);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"- (a) layout-only migration (HNSW m 16 → 32): {layout.Tokens:N0} tokens in {layout.Inputs:N0} inputs embedded (recall sample {RecallSample} chunks); copy {copyRate:F0} points/s vs plain scroll-and-upsert loop {plainRate:F0} points/s (ratio {copyRate / plainRate:F2}); whole command {layout.Seconds:F1} s (exit {layout.Exit})"));
            lines.Add("- (b) migration to another model while live work runs: not measured yet (budget share and live freshness under a migration)");
            return lines;
        }
        finally
        {
            qdrant.Store.KeepVectors = false;
        }
    }

    /// <summary>The source as the worker leaves it: <c>&lt;alias&gt;_v1</c> behind the alias, with the model record, its indexes and every chunk's payload and vector.</summary>
    private static async Task<int> SeedSourceAsync(Qdrant.Client.QdrantClient client, string alias, QdrantOptions options, int documents, int chunksPerDocument)
    {
        var source = alias + "_v1";
        await client.CreateCollectionAsync(CollectionLayout.Request(source, BackfillDimensions, options, model: new CollectionModel(BenchModel, BackfillDimensions, null, false)));
        foreach (var (field, type, indexParams) in CollectionLayout.Indexes(options))
        {
            await client.CreatePayloadIndexAsync(source, field, type, indexParams);
        }
        await client.CreateAliasAsync(alias, source);
        var random = new Random(7);
        var writtenAt = DateTimeOffset.UtcNow.AddHours(-1).ToString("O", CultureInfo.InvariantCulture);
        var batch = new List<PointStruct>(256);
        for (var d = 0; d < documents; d++)
        {
            for (var c = 0; c < chunksPerDocument; c++)
            {
                var text = $"Document {d}, part {c}: " + string.Join(' ', Enumerable.Range(0, 120).Select(_ => Words[random.Next(Words.Length)]));
                var vector = new float[BackfillDimensions];
                for (var i = 0; i < vector.Length; i++)
                {
                    vector[i] = (float)(random.NextDouble() - 0.5);
                }
                var point = new PointStruct { Id = new PointId { Uuid = PointIds.For(alias, $"doc-{d}", c).ToString() }, Vectors = vector };
                point.Payload[PayloadFields.DocumentId] = $"doc-{d}";
                point.Payload[PayloadFields.ChunkIndex] = c;
                point.Payload[PayloadFields.ChunkCount] = chunksPerDocument;
                point.Payload[PayloadFields.Text] = text;
                point.Payload[PayloadFields.ContentHash] = ContentHash.Of(BenchModel, text);
                point.Payload[PayloadFields.Model] = BenchModel;
                point.Payload[PayloadFields.EmbeddedAt] = writtenAt;
                batch.Add(point);
                if (batch.Count == batch.Capacity)
                {
                    await client.UpsertAsync(source, batch);
                    batch.Clear();
                }
            }
        }
        if (batch.Count > 0)
        {
            await client.UpsertAsync(source, batch);
        }
        return documents * chunksPerDocument;
    }

    private static readonly string[] Words = ["pump", "valve", "seal", "impeller", "bearing", "housing", "pressure", "flow", "check", "replace", "monthly", "hours", "oil", "level", "torque", "gasket"];

    private sealed record CommandRun(int? Exit, double Seconds, long Tokens, long Inputs, int Upserts, int Created);

    /// <summary>
    /// Runs the <c>backfill</c> command to its end: what it cost the endpoint and Qdrant, and the rate at which the
    /// target filled (points a second from its first point to its last).
    /// </summary>
    private async Task<(CommandRun Run, double CopyRate)> RunCommandAsync(string name, Dictionary<string, string> environment, string target, int chunks)
    {
        var tokensBefore = endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Tokens);
        var inputsBefore = endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Inputs);
        var upsertsBefore = qdrant.Store.UpsertCalls;
        var collectionsBefore = qdrant.Store.CollectionNames.Count;
        var clock = Stopwatch.StartNew();
        await using var command = ClientProcess.Start(WorkerDll, ["backfill", "--poll", "00:00:00.500", "--timeout", "00:30:00"], environment, Path.Combine(settings.LogDirectory, name + ".log"));
        TimeSpan? first = null;
        TimeSpan? last = null;
        while (!command.HasExited)
        {
            var copied = qdrant.Store.Exists(target) ? qdrant.Store.Points(target).Count : 0;
            if (copied > 0)
            {
                first ??= clock.Elapsed;
            }
            if (copied >= chunks)
            {
                last ??= clock.Elapsed;
            }
            await Task.Delay(100);
        }
        var exit = await command.ExitedWithinAsync(TimeSpan.FromSeconds(5));
        var run = new CommandRun(exit, clock.Elapsed.TotalSeconds,
            endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Tokens) - tokensBefore,
            endpoint.Served.Where(s => s.Status == 200).Sum(s => (long)s.Inputs) - inputsBefore,
            qdrant.Store.UpsertCalls - upsertsBefore,
            qdrant.Store.CollectionNames.Count - collectionsBefore);
        var rate = first is { } from && last is { } to && to > from ? chunks / (to - from).TotalSeconds : 0;
        return (run, rate);
    }

    /// <summary>The baseline: scroll the source 256 points at a time with their vectors and upsert them into a new collection.</summary>
    private static async Task<double> PlainCopyRateAsync(Qdrant.Client.QdrantClient client, string source, string copy, QdrantOptions options)
    {
        await client.CreateCollectionAsync(CollectionLayout.Request(copy, BackfillDimensions, options));
        var clock = Stopwatch.StartNew();
        var copied = 0;
        PointId? offset = null;
        do
        {
            var page = await client.ScrollAsync(source, limit: 256, offset: offset, payloadSelector: true, vectorsSelector: true);
            if (page.Result.Count > 0)
            {
                await client.UpsertAsync(copy, page.Result.Select(p => new PointStruct
                {
                    Id = p.Id,
                    Vectors = QdrantPointReader.VectorOf(p)!,
                    Payload = { p.Payload },
                }).ToList(), wait: true);
                copied += page.Result.Count;
            }
            offset = page.NextPageOffset;
        }
        while (offset is not null);
        return copied / clock.Elapsed.TotalSeconds;
    }
}
