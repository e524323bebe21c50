using Microsoft.Extensions.Configuration;
using Stackit.EmbeddingWorker.Cli;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Cli;

/// <summary>The backfill command's own requests (recall sample, calibration sample, size probe) and the rate budget.</summary>
public sealed class CommandEmbeddingsTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_commands_requests_are_charged_to_the_budget_of_the_model_they_ask_for()
    {
        // One request a minute for the target's model: the second waits for the budget (it was sent at once before,
        // beside the replicas' copies of the same model). The served model's budget is untouched.
        await using var server = await FakeEmbeddingServer.StartAsync();
        var context = new CliContext(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Fleet:Coordination"] = "Off" }).Build(),
            TextReader.Null, TextWriter.Null, TextWriter.Null);
        var options = new EmbeddingsOptions
        {
            BaseUrl = server.BaseUrl,
            ApiKey = FakeEmbeddingServer.ApiKey,
            Model = "next/model",
            ModelBudgets = [new ModelBudget { Model = "next/model", RequestsPerMinute = 1 }],
        };
        await using var embeddings = await CommandEmbeddings.StartAsync(context, options, Cancel);

        await embeddings.EmbedAsync(["first sample"], Cancel);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var second = embeddings.EmbedAsync(["second sample"], giveUp.Token);
        var otherModel = embeddings.EmbedAsync("served/model", null, ["query"], Cancel);

        await otherModel.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        await Task.Delay(TimeSpan.FromSeconds(1), Cancel);
        Assert.False(second.IsCompleted, "a second request within the minute's one is sent only when the budget has refilled");
        Assert.Equal(["next/model", "served/model"], server.Requests.Select(r => r.Model));
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
    }
}
