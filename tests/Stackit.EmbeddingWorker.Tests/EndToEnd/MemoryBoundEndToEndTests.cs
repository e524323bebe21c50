using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Stackit.EmbeddingWorker.Cli;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.EndToEnd;

/// <summary>
/// The documented worst case (docs/operations.md, Memory) of one replica's memory, measured: the worker in its own process (as operators run it,
/// default memory settings) takes large claim-checked documents from Azurite, beside a full count of inline messages
/// near the queue's 64 KiB, and embeds them (loopback endpoint,
/// Qdrant STAND-IN), and the kernel's record of its peak resident set must stay under that formula.
/// </summary>
[Collection(nameof(WorkerProcessesCollection))]
public sealed class MemoryBoundEndToEndTests(AzuriteFixture azurite)
{
    private const string Collection = "documents";
    private const int Documents = 4;
    private const int DocumentBytes = 15 * 1024 * 1024;
    private const int InlineMessages = 256;
    private const int InlineTextBytes = 60_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>docs/operations.md, Memory: 160 MiB + 7 × Blobs:MaxInFlightBytes + 5 × 64 KiB × Queue:MaxInFlightMessages.</summary>
    private static double ReadmeBoundMiB(long maxInFlightBytes, int maxInFlightMessages) =>
        160 + (7.0 * maxInFlightBytes / (1024 * 1024)) + (5.0 * 64 * maxInFlightMessages / 1024);

    [Fact]
    public async Task Documents_of_15_MiB_beside_a_full_count_of_large_inline_messages_stay_within_the_documented_memory_bound()
    {
        var queueName = AzuriteFixture.UniqueQueueName("mem");
        var container = "c" + queueName;
        var directory = Directory.CreateTempSubdirectory("memory-bound");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Queue:ConnectionString"] = azurite.ConnectionString,
            ["Queue:Name"] = queueName,
            ["Blobs:Container"] = container,
        }).Build();
        for (var i = 0; i < Documents; i++)
        {
            var path = Path.Combine(directory.FullName, $"handbook-{i}.txt");
            await File.WriteAllTextAsync(path, Handbook(i, DocumentBytes), Ct);
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.True(await WorkerCli.RunAsync(["enqueue", path], configuration, new StringReader(""), output, error, Ct) == 0, error.ToString());
        }
        directory.Delete(recursive: true);
        // Beside the bodies, a full count of inline messages of nearly the most a queue message holds (64 KiB).
        var queue = azurite.Queue(queueName);
        for (var i = 0; i < InlineMessages; i++)
        {
            await queue.SendMessageAsync(JsonSerializer.Serialize(new { id = $"note-{i}", text = Handbook(Documents + i, InlineTextBytes) }), Ct);
        }

        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        qdrant.Store.KeepVectors = false;
        var settings = WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, Collection);
        settings["Blobs:Container"] = container;
        settings["Queue:VisibilityTimeout"] = "00:05:00";
        await using var worker = WorkerProcess.Start(settings);

        var deadline = DateTimeOffset.UtcNow.AddMinutes(10);
        while (await QueueAssertions.CountAsync(queue, Ct) > 0)
        {
            Assert.False(worker.HasExited, worker.Tail());
            Assert.True(DateTimeOffset.UtcNow < deadline, $"not done in 10 minutes: {worker.Tail()}");
            await Task.Delay(500, Ct);
        }
        var peak = worker.PeakRssMiB;
        // The worst case docs/operations.md states for the defaults the worker runs with here.
        var bound = ReadmeBoundMiB(32 * 1024 * 1024, 256);
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak RSS {peak:F0} MiB; the documented bound at the defaults {bound:F0} MiB"));

        Assert.Equal(Documents + InlineMessages, qdrant.Store.Points(Collection).Select(p => p.Payload[PayloadFields.DocumentId].StringValue).Distinct().Count());
        Assert.True(peak <= bound, string.Create(CultureInfo.InvariantCulture, $"peak RSS {peak:F0} MiB is over the documented {bound:F0} MiB"));
    }

    /// <summary>A manual of numbered steps in paragraphs, <paramref name="bytes"/> long.</summary>
    private static string Handbook(int number, int bytes)
    {
        var builder = new StringBuilder(bytes + 200);
        for (var i = 0; builder.Length < bytes; i++)
        {
            builder.Append(CultureInfo.InvariantCulture, $"Handbook {number}, step {i}: loosen bolt B{i % 97}, check seal S{i % 13} and record the torque. ");
            if (i % 9 == 8)
            {
                builder.Append("\n\n");
            }
        }
        return builder.ToString();
    }
}
