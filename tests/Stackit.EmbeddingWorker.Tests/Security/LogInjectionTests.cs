using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Security;

/// <summary>
/// Hostile strings through the whole worker (Azurite, the loopback endpoint, the Qdrant STAND-IN): whatever a
/// message holds, every line the worker logs about it is one line, without control characters. The console formats
/// (simple, systemd) print a message's text as it is, so the text itself must be safe.
/// </summary>
public sealed class LogInjectionTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Control_characters_and_ansi_escapes_in_a_message_never_reach_a_log_line_raw()
    {
        await using var embeddings = await FakeEmbeddingServer.StartAsync();
        await using var qdrant = await QdrantStandInServer.StartAsync();
        var queueName = AzuriteFixture.UniqueQueueName("inject");
        var queue = azurite.Queue(queueName);
        await queue.CreateAsync(cancellationToken: Ct);
        string[] hostile =
        [
            "{\"id\":\"doc\\u001b[31m-1\\nforged: INFO all fine\",\"text\":\"x\"}",
            "{\"id\":\"doc-2\",\"op\":\"merge\\u001b[2J\\nforged: INFO all fine\",\"text\":\"x\"}",
            "{\"id\":\"doc-3\",\"collection\":\"other\\u2028forged: INFO all fine\",\"text\":\"x\"}",
        ];
        foreach (var body in hostile)
        {
            await queue.SendMessageAsync(body, Ct);
        }
        var log = new List<string>();
        using var host = WorkerHost.Build(WorkerHost.Settings(azurite.ConnectionString, queueName, embeddings.BaseUrl, qdrant.Endpoint, "documents"), log);
        await host.StartAsync(Ct);
        var poison = azurite.Queue(queueName + "-poison");
        while (!await poison.ExistsAsync(Ct) || await QueueAssertions.CountAsync(poison, Ct) < hostile.Length)
        {
            await Task.Delay(50, Ct);
        }
        await host.StopAsync(Ct);

        List<string> lines;
        lock (log)
        {
            lines = [.. log];
        }
        Assert.Contains(lines, l => l.Contains("\\u001B", StringComparison.Ordinal));
        Assert.All(lines, line =>
        {
            var message = line.Split(Environment.NewLine)[0];
            Assert.DoesNotContain('\u001b', line);
            Assert.DoesNotContain('\u2028', line);
            Assert.DoesNotContain("\nforged", line, StringComparison.Ordinal);
            Assert.False(message.Length < line.Length && !line[message.Length..].Contains("   at ", StringComparison.Ordinal), $"a log line holds a line break outside an exception: {line}");
        });
    }
}
