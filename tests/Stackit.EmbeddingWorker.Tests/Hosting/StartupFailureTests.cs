using Stackit.EmbeddingWorker.Configuration;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Hosting;

/// <summary>The worker's own process, started as an operator would with settings that are wrong.</summary>
public sealed class StartupFailureTests
{
    [Fact]
    public async Task A_configuration_error_is_printed_one_a_line_and_the_process_exits_with_its_own_code()
    {
        await using var worker = WorkerProcess.Start(new Dictionary<string, string?>
        {
            ["Embeddings:ApiKey"] = "",
            ["Embeddings:MaxConcurrency"] = "0",
            ["Queue:ConnectionString"] = "UseDevelopmentStorage=true",
        });

        Assert.True(await worker.ExitedWithinAsync(TimeSpan.FromSeconds(60)), worker.Tail());

        Assert.Equal(ConfigurationCheck.ExitCode, worker.ExitCode);
        Assert.Equal(
        [
            "The configuration is invalid (2 errors):",
            "  Embeddings:ApiKey is required (set Embeddings__ApiKey in the environment or a secret).",
            "  The field Embeddings:MaxConcurrency must be between 1 and 256.",
        ], worker.Output);
    }
}
