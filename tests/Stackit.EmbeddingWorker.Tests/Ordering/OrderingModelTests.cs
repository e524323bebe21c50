using System.Net;
using CsCheck;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.Ordering;

/// <summary>
/// Generated histories through the real pipeline (Azurite, the loopback endpoint with latency and failures, the
/// Qdrant STAND-IN), compared with a reference model of the ordering property:
/// a versioned document ends as exactly its highest version (nothing if that is a delete), an unversioned one as
/// the job the replica received last, and every document as one whole version, never a mix.
/// </summary>
public sealed partial class OrderingModelTests(AzuriteFixture azurite)
{
    /// <summary>Histories run together in one sample: all their jobs are in flight at once.</summary>
    private const int HistoriesPerSample = 20;

    /// <summary>10 samples of 20: 200 histories in CI.</summary>
    private const int Samples = 10;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_generated_history_ends_in_its_newest_state_whatever_the_order_latency_and_failures()
    {
        var logs = new List<string>();
        await using var run = await StandInPipelineRun.StartAsync(azurite, "documents", Ct, logCapture: logs, configure: settings =>
        {
            settings["Embeddings:MaxRetries"] = "1";
            settings["Embeddings:RetryBaseDelay"] = "00:00:00.020";
            settings["Queue:VisibilityTimeout"] = "00:00:02";
            settings["Queue:MaxDequeueCount"] = "50";
            settings["Circuit:BreakDuration"] = "00:00:00.200";
            settings["Circuit:MaxBreakDuration"] = "00:00:00.500";
            settings["Batching:MaxDelay"] = "00:00:00.050";
        });
        run.Embeddings.Latency = TimeSpan.FromMilliseconds(40);
        var samples = 0;

        await Gen.Select(DocumentHistory.Generator.Array[HistoriesPerSample], Gen.Int[0, 3]).SampleAsync(async (histories, failures) =>
        {
            var sample = Interlocked.Increment(ref samples);
            var named = histories.Select((h, i) => h.Named($"s{sample}h{i}")).ToList();
            for (var i = 0; i < failures; i++)
            {
                // With one retry, two faults in a row fail one request: its jobs go back to the queue.
                run.Embeddings.EnqueueFault(HttpStatusCode.InternalServerError);
                run.Embeddings.EnqueueFault(HttpStatusCode.InternalServerError);
            }
            var documentOfMessage = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var job in named.SelectMany(h => h.Deliveries))
            {
                documentOfMessage[(await run.Queue.SendMessageAsync(job.Body, Ct)).Value.MessageId] = job.DocumentId;
            }
            await QueueAssertions.WaitUntilEmptyAsync(run.Queue, TimeSpan.FromSeconds(120), Ct);
            var redelivered = Redelivered(logs, documentOfMessage);
            TestContext.Current.TestOutputHelper?.WriteLine($"sample {sample}: {failures} failed requests, {redelivered.Count} documents delivered again after a lost lease");

            Assert.Equal(0, await QueueAssertions.CountAsync(run.Poison, Ct));
            foreach (var document in named.SelectMany(h => h.Documents))
            {
                var jobs = document.ToList();
                var actual = Stored(run, document.Key);
                // A failure sends jobs back to the queue, and a lease lost under load (the visibility timeout is 2 s
                // here) lets the queue deliver a message again: an unversioned document may then be received in
                // another order, and its last receipt wins.
                var expected = (failures == 0 && !redelivered.Contains(document.Key)) || jobs[0].Version is not null ? [ReferenceModel.Final(jobs)] : jobs;
                Assert.True(expected.Any(j => ReferenceModel.Holds(j, actual)),
                    $"{document.Key} holds [{string.Join(" | ", actual.Select(p => p.Describe()))}]; expected the state of {string.Join(" or ", expected)} (deliveries: {string.Join(", ", jobs)})");
            }
        }, iter: Samples, threads: 1, print: t => $"failures {t.Item2}: " + string.Join(" ; ", t.Item1.Select(h => h.ToString())));
    }

    private static List<StoredChunk> Stored(StandInPipelineRun run, string documentId) => StoredChunk.Of(run.Points(documentId));

    /// <summary>The documents one of whose messages the worker lost the lease of (so the queue delivered it again).</summary>
    private static HashSet<string> Redelivered(List<string> logs, Dictionary<string, string> documentOfMessage)
    {
        lock (logs)
        {
            return [.. logs
                .Select(line => LostLease().Match(line))
                .Where(m => m.Success && documentOfMessage.ContainsKey(m.Groups[1].Value))
                .Select(m => documentOfMessage[m.Groups[1].Value])];
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("Lease of message ([0-9a-f-]+) was lost")]
    private static partial System.Text.RegularExpressions.Regex LostLease();
}

/// <summary>What a stored point says about the version it belongs to.</summary>
internal sealed record StoredChunk(int Index, int Count, long? Version, string Text)
{
    /// <summary>A document's points as the model compares them, in chunk order.</summary>
    public static List<StoredChunk> Of(IEnumerable<StoredPoint> points) =>
        [.. points
            .Select(p => new StoredChunk(
                (int)p.Payload[PayloadFields.ChunkIndex].IntegerValue,
                (int)p.Payload[PayloadFields.ChunkCount].IntegerValue,
                p.Payload.TryGetValue(PayloadFields.Version, out var v) ? v.IntegerValue : null,
                p.Payload[PayloadFields.Text].StringValue.Trim()))
            .OrderBy(c => c.Index)];

    public string Describe() => $"{Index}/{Count}@{Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}:{Text[..Math.Min(40, Text.Length)]}";
}

/// <summary>The ordering property as a reference model.</summary>
internal static class ReferenceModel
{
    /// <summary>The job whose state a document must end in: its highest version, else the one delivered last.</summary>
    public static HistoryJob Final(IReadOnlyList<HistoryJob> jobsInDeliveryOrder) =>
        jobsInDeliveryOrder[0].Version is null ? jobsInDeliveryOrder[^1] : jobsInDeliveryOrder.MaxBy(j => j.Version)!;

    /// <summary>
    /// True when <paramref name="stored"/> is what several replicas may leave of these jobs: exactly the highest
    /// version's state for a versioned document; for an unversioned one (no order across replicas), exactly the state
    /// of one of its jobs, never a mix of two.
    /// </summary>
    public static bool HoldsAcrossReplicas(IReadOnlyList<HistoryJob> jobs, IReadOnlyList<StoredChunk> stored) =>
        jobs[0].Version is null ? jobs.Any(job => Holds(job, stored)) : Holds(Final(jobs), stored);

    /// <summary>True when <paramref name="stored"/> is exactly the state <paramref name="job"/> leaves: whole, no other version.</summary>
    public static bool Holds(HistoryJob job, IReadOnlyList<StoredChunk> stored)
    {
        if (job.Delete)
        {
            return stored.Count == 0;
        }
        var texts = job.Texts.ToList();
        return stored.Count == texts.Count
            && stored.Select((c, i) => c.Index == i && c.Count == texts.Count && c.Version == job.Version && c.Text == texts[i].Trim()).All(ok => ok);
    }
}
