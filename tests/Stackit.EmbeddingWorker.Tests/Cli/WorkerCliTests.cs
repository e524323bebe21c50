using System.Text;
using Microsoft.Extensions.Configuration;
using Stackit.EmbeddingWorker.Cli;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Messaging;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Cli;

/// <summary>The helper commands against Azurite and the Qdrant stand-in, as upstream teams and operators use them.</summary>
public sealed class WorkerCliTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Enqueue_turns_each_file_into_a_job_the_worker_accepts()
    {
        var queueName = AzuriteFixture.UniqueQueueName("cli");
        var directory = Directory.CreateTempSubdirectory("cli-enqueue");
        await File.WriteAllTextAsync(Path.Combine(directory.FullName, "pump-manual.md"), "# Pumpe\nÖlstand prüfen, dann starten.", Ct);
        await File.WriteAllTextAsync(Path.Combine(directory.FullName, "valve.txt"), "Close the valve before service.", Ct);

        var (code, output, error) = await RunAsync(queueName, ["enqueue", Path.Combine(directory.FullName, "pump-manual.md"), Path.Combine(directory.FullName, "valve.txt")]);

        Assert.True(code == 0, error);
        Assert.Contains("Enqueued 2 jobs", output, StringComparison.Ordinal);
        var jobs = await ReceiveJobsAsync(queueName);
        Assert.Equal(["pump-manual.md", "valve.txt"], jobs.Select(j => j.Id).Order());
        Assert.Equal("# Pumpe\nÖlstand prüfen, dann starten.", jobs.Single(j => j.Id == "pump-manual.md").Text);
        Assert.Equal("pump-manual", jobs.Single(j => j.Id == "pump-manual.md").Title);
        directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Enqueue_from_stdin_sends_nothing_when_any_line_is_invalid_and_names_the_line()
    {
        var queueName = AzuriteFixture.UniqueQueueName("cli");
        var stdin = """
            {"id":"a-1","text":"first"}
            {"text":"no id"}

            {"id":"a-3","text":"third"}
            """;

        var (code, _, error) = await RunAsync(queueName, ["enqueue"], stdin);

        Assert.Equal(1, code);
        Assert.Contains("line 2:", error, StringComparison.Ordinal);
        Assert.Contains("'id'", error, StringComparison.Ordinal);
        Assert.Contains("Nothing enqueued: 1 of 3 jobs are invalid.", error, StringComparison.Ordinal);
        Assert.False(await azurite.Queue(queueName).ExistsAsync(Ct));
    }

    [Fact]
    public async Task Enqueue_from_stdin_sends_every_valid_line()
    {
        var queueName = AzuriteFixture.UniqueQueueName("cli");

        var (code, _, error) = await RunAsync(queueName, ["enqueue", "-"], "{\"id\":\"a-1\",\"text\":\"first\"}\n{\"id\":\"a-2\",\"op\":\"delete\"}\n");

        Assert.True(code == 0, error);
        Assert.Equal(["a-1", "a-2"], (await ReceiveJobsAsync(queueName)).Select(j => j.Id).Order());
    }

    [Fact]
    public async Task Poison_list_shows_why_and_replay_puts_the_original_back_on_the_work_queue()
    {
        var queueName = AzuriteFixture.UniqueQueueName("cli");
        var live = azurite.Queue(queueName);
        var poison = azurite.Queue(queueName + "-poison");
        await live.CreateAsync(cancellationToken: Ct);
        await poison.CreateAsync(cancellationToken: Ct);
        const string original = """{"id":"manual-7","text":"Wartung"}""";
        var lease = new QueueLease(queueName, "m-1", "r", 5, Encoding.UTF8.GetBytes(original));
        await poison.SendMessageAsync(PoisonEnvelope.Create(lease, "manual-7", "the embeddings endpoint rejected chunk 0 (400): bad input", DateTimeOffset.UtcNow, out _), Ct);
        await poison.SendMessageAsync("not an envelope: copied as it was", Ct);

        var (listCode, list, _) = await RunAsync(queueName, ["poison", "list"]);
        var (replayCode, replay, replayError) = await RunAsync(queueName, ["poison", "replay"]);

        Assert.Equal(0, listCode);
        Assert.Contains("2 messages in " + poison.Name, list, StringComparison.Ordinal);
        Assert.Contains("manual-7\tattempts 5", list, StringComparison.Ordinal);
        Assert.Contains("rejected chunk 0 (400): bad input", list, StringComparison.Ordinal);
        Assert.Contains("(no reason recorded", list, StringComparison.Ordinal);
        Assert.True(replayCode == 0, replayError);
        Assert.Contains("Replayed 2 messages", replay, StringComparison.Ordinal);
        Assert.Equal(0, await QueueAssertions.CountAsync(poison, Ct));
        var bodies = (await live.ReceiveMessagesAsync(32, cancellationToken: Ct)).Value.Select(m => m.Body.ToString());
        Assert.Equal(new[] { original, "not an envelope: copied as it was" }.Order(StringComparer.Ordinal), bodies.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Poison_list_prints_control_characters_and_ansi_escapes_escaped_never_raw()
    {
        // A poison entry written by hand (or by an earlier version) with a newline and an ANSI escape in its id and
        // reason: printed raw, they forged a second line and recoloured the operator's terminal.
        var queueName = AzuriteFixture.UniqueQueueName("cli");
        var poison = azurite.Queue(queueName + "-poison");
        await poison.CreateAsync(cancellationToken: Ct);
        var lease = new QueueLease(queueName, "m-1", "r", 1, Encoding.UTF8.GetBytes("""{"id":"x"}"""));
        await poison.SendMessageAsync(PoisonEnvelope.Create(lease, "doc\u001b[31m-1", "bad\nOK all fine\u2028", DateTimeOffset.UtcNow, out _), Ct);

        var (code, list, _) = await RunAsync(queueName, ["poison", "list"]);

        Assert.Equal(0, code);
        Assert.DoesNotContain('\u001b', list);
        Assert.DoesNotContain('\u2028', list);
        Assert.Equal(2, list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("doc\\u001B[31m-1", list, StringComparison.Ordinal);
        Assert.Contains("bad\\u000AOK all fine\\u2028", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poison_replay_of_one_message_id_leaves_the_others_visible()
    {
        var queueName = AzuriteFixture.UniqueQueueName("cli");
        var poison = azurite.Queue(queueName + "-poison");
        await poison.CreateAsync(cancellationToken: Ct);
        await azurite.Queue(queueName).CreateAsync(cancellationToken: Ct);
        var wanted = (await poison.SendMessageAsync("""{"id":"x"}""", Ct)).Value.MessageId;
        await poison.SendMessageAsync("""{"id":"y"}""", Ct);

        var (code, _, error) = await RunAsync(queueName, ["poison", "replay", "--message-id", wanted]);

        Assert.True(code == 0, error);
        var left = (await poison.PeekMessagesAsync(32, Ct)).Value;
        Assert.Equal("""{"id":"y"}""", Assert.Single(left).Body.ToString());
        Assert.Equal(1, await QueueAssertions.CountAsync(azurite.Queue(queueName), Ct));
    }

    [Fact]
    public async Task Poison_replay_while_a_worker_poisons_the_messages_again_replays_each_once_and_ends()
    {
        // A running worker poisons the replayed message again within milliseconds. Before, replay took the new
        // poison entry too, and bounced the message between the queues until it was stopped.
        await using var run = await StandInPipelineRun.StartAsync(azurite, "documents", Ct, s => s["Queue:MaxPollingInterval"] = "00:00:00.100");
        const int poisoned = 40;
        for (var i = 0; i < poisoned; i++)
        {
            await run.Queue.SendMessageAsync($$"""{"id":{{i}},"text":"an id that is no string"}""", Ct);
        }
        while (await QueueAssertions.CountAsync(run.Poison, Ct) < poisoned)
        {
            await Task.Delay(50, Ct);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var (code, output, error) = await RunAsync(run.Queue.Name, ["poison", "replay"], cancellationToken: timeout.Token);

        Assert.True(code == 0, error);
        Assert.Contains($"Replayed {poisoned} messages", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_shows_queue_depths_and_point_counts_and_fails_when_qdrant_does_not_answer()
    {
        var queueName = AzuriteFixture.UniqueQueueName("cli");
        await azurite.Queue(queueName).CreateAsync(cancellationToken: Ct);
        await azurite.Queue(queueName).SendMessageAsync("""{"id":"s","text":"t"}""", Ct);
        await using var qdrant = await QdrantStandInServer.StartAsync();
        qdrant.Store.Create(new Qdrant.Client.Grpc.CreateCollection
        {
            CollectionName = "documents_v1",
            VectorsConfig = new Qdrant.Client.Grpc.VectorsConfig { Params = new Qdrant.Client.Grpc.VectorParams { Size = 4, Distance = Qdrant.Client.Grpc.Distance.Cosine } },
        });
        qdrant.Store.ChangeAliases(new Qdrant.Client.Grpc.ChangeAliases
        {
            Actions = { new Qdrant.Client.Grpc.AliasOperations { CreateAlias = new Qdrant.Client.Grpc.CreateAlias { AliasName = "documents", CollectionName = "documents_v1" } } },
        });

        var (code, output, _) = await RunAsync(queueName, ["status"], qdrant: qdrant.Endpoint);
        qdrant.Store.Down = true;
        var (downCode, _, _) = await RunAsync(queueName, ["status"], qdrant: new Uri($"http://127.0.0.1:{FreePort.OnLoopback()}"));

        Assert.Equal(0, code);
        Assert.Contains($"queue {queueName}: 1 messages", output, StringComparison.Ordinal);
        Assert.Contains($"queue {queueName}-poison: does not exist", output, StringComparison.Ordinal);
        Assert.Contains("collection documents → documents_v1: 0 points", output, StringComparison.Ordinal);
        Assert.Equal(1, downCode);
    }

    [Fact]
    public async Task A_command_checks_the_settings_it_uses_as_the_worker_does_and_says_each_on_a_line()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Queue:ConnectionString"] = azurite.ConnectionString,
            ["Queue:Name"] = "Not_A_Queue",
            ["Queue:MaxDequeueCount"] = "0",
        }).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await WorkerCli.RunAsync(["poison", "list"], configuration, new StringReader(""), output, error, Ct);

        Assert.Equal(Stackit.EmbeddingWorker.Configuration.ConfigurationCheck.ExitCode, code);
        var lines = error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("The configuration is invalid (2 errors):", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("  Queue:Name must be 3-56 lower-case letters", StringComparison.Ordinal));
        Assert.Contains("  The field Queue:MaxDequeueCount must be between 1 and 100.", lines);
        Assert.DoesNotContain("Exception", error.ToString(), StringComparison.Ordinal);
    }

    private async Task<(int Code, string Output, string Error)> RunAsync(string queueName, string[] args, string stdin = "", Uri? qdrant = null, CancellationToken? cancellationToken = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Queue:ConnectionString"] = azurite.ConnectionString,
            ["Queue:Name"] = queueName,
            ["Qdrant:Endpoint"] = (qdrant ?? new Uri("http://127.0.0.1:1")).ToString(),
            ["Qdrant:Collection"] = "documents",
        }).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await WorkerCli.RunAsync(args, configuration, new StringReader(stdin), output, error, cancellationToken ?? Ct);
        return (code, output.ToString(), error.ToString());
    }

    private async Task<List<JobMessage>> ReceiveJobsAsync(string queueName)
    {
        var parser = new JobMessageParser("documents", new HashSet<string>(StringComparer.Ordinal));
        var messages = (await azurite.Queue(queueName).ReceiveMessagesAsync(32, cancellationToken: Ct)).Value;
        return [.. messages.Select(m => parser.Parse(m.Body.ToMemory()).Job!)];
    }
}
