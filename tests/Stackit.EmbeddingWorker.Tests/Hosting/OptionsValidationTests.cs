using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stackit.EmbeddingWorker.Hosting;

namespace Stackit.EmbeddingWorker.Tests.Hosting;

public sealed class OptionsValidationTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["Embeddings:ApiKey"] = "k",
        ["Queue:ConnectionString"] = "UseDevelopmentStorage=true",
    };

    [Theory]
    [InlineData("Embeddings:ApiKey", "", "Embeddings:ApiKey is required")]
    [InlineData("Embeddings:BaseUrl", "ftp://example.invalid", "Embeddings:BaseUrl must be an absolute http(s) URL")]
    [InlineData("Embeddings:MaxConcurrency", "0", "Embeddings:MaxConcurrency must be between 1 and 256")]
    [InlineData("Embeddings:Timeout", "00:00:00", "Embeddings:Timeout must be between")]
    [InlineData("Queue:Name", "Bad_Name", "Queue:Name must be 3-56 lower-case letters")]
    // 57 characters and '-poison' would be 64, one more than Azure allows (the old rule let it through).
    [InlineData("Queue:Name", "q23456789012345678901234567890123456789012345678901234567", "Queue:Name must be 3-56 lower-case letters")]
    [InlineData("Queue:MaxDequeueCount", "0", "Queue:MaxDequeueCount must be between 1 and 100")]
    [InlineData("Queue:VisibilityTimeout", "8.00:00:00", "Queue:VisibilityTimeout must be between")]
    [InlineData("Queue:ConnectionString", "", "Queue:ConnectionString or Queue:ServiceUri must be set")]
    [InlineData("Batching:MaxInputsPerRequest", "0", "Batching:MaxInputsPerRequest must be between")]
    [InlineData("Chunking:MaxChunkTokens", "8192", "Chunking:MaxChunkTokens (8192) must not exceed Embeddings:MaxInputTokens (4096)")]
    [InlineData("Chunking:OverlapTokens", "400", "Chunking:OverlapTokens must be at most half of Chunking:MaxChunkTokens")]
    [InlineData("Qdrant:Distance", "Hamming", "Qdrant:Distance must be Cosine, Dot, Euclid or Manhattan")]
    [InlineData("Qdrant:Collection", "no spaces allowed", "Qdrant:Collection may hold")]
    [InlineData("Qdrant:AllowedCollections:0", "bad/name", "Qdrant:AllowedCollections holds 'bad/name'")]
    [InlineData("Qdrant:IndexedMetadata:lang", "string", "Qdrant:IndexedMetadata:lang is 'string'; it must be one of keyword")]
    [InlineData("Qdrant:IndexedMetadata:a.b", "keyword", "Qdrant:IndexedMetadata names 'a.b'")]
    [InlineData("Qdrant:WriteConsistencyFactor", "2", "Qdrant:WriteConsistencyFactor must not exceed Qdrant:ReplicationFactor")]
    [InlineData("Qdrant:HnswEfConstruct", "2", "Qdrant:HnswEfConstruct must be between 4 and 4096")]
    [InlineData("Fleet:HeartbeatInterval", "00:00:02", "Fleet:MemberTimeout must be at least twice Fleet:HeartbeatInterval")]
    public async Task Bad_value_stops_the_host_at_start_with_a_message_that_names_the_key(string key, string value, string expected)
    {
        await AssertRefusedAsync(new Dictionary<string, string?>(Valid) { [key] = value }, expected);
    }

    [Fact]
    public async Task A_work_queue_name_too_long_for_the_backfill_queue_named_after_it_stops_the_host_unless_that_queue_has_a_name_of_its_own()
    {
        // 56 characters are a valid work queue ('-poison' makes 63), but '-backfill-poison' behind it makes 72, a name
        // Azure refuses: the worker started and its backfill queues could never be created.
        var name = "q" + new string('x', 55);
        var settings = new Dictionary<string, string?>(Valid) { ["Queue:Name"] = name };

        await AssertRefusedAsync(settings, $"Queue:Name '{name}' is too long for the backfill queue named after it: '{name}-backfill' and its '-poison' queue would be over Azure's 63 characters. Set Backfill:Queue to a name of its own, or keep Queue:Name to 47 characters.");

        settings["Backfill:Queue"] = "pages";
        using var host = Build(settings);
        host.Services.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public async Task A_backfill_queue_that_is_the_work_queue_stops_the_host()
    {
        await AssertRefusedAsync(new Dictionary<string, string?>(Valid) { ["Backfill:Queue"] = "documents" }, "Backfill:Queue must not be the work queue ('documents')");
    }

    /// <summary>The host refuses to start, and what the operator is shown (one line a failure) names the setting.</summary>
    private static async Task AssertRefusedAsync(Dictionary<string, string?> settings, string expected)
    {
        using var host = Build(settings);

        await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        var shown = StartupConfiguration.Failures(host.Services);
        Assert.Contains(shown, line => line.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_configuration_error_is_shown_at_once_one_a_line_each_naming_its_setting()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Queue:ConnectionString"] = "UseDevelopmentStorage=true",
            ["Queue:VisibilityTimeout"] = "soon",
            ["Embeddings:MaxRetries"] = "99",
            ["Chunking:MaxChunkTokens"] = "100000",
            ["Fleet:Coordination"] = "Bogus",
            ["Embeddings:TokensPerMinute"] = "5000",
        };
        using var host = Build(settings);

        var shown = StartupConfiguration.Failures(host.Services);

        Assert.Equal(
        [
            "Failed to convert configuration value 'soon' at 'Queue:VisibilityTimeout' to type 'System.TimeSpan'.",
            "Embeddings:ApiKey is required (set Embeddings__ApiKey in the environment or a secret).",
            "The field Embeddings:MaxRetries must be between 1 and 20.",
            "The field Chunking:MaxChunkTokens must be between 16 and 32768.",
            "Failed to convert configuration value 'Bogus' at 'Fleet:Coordination' to type 'Stackit.EmbeddingWorker.Embeddings.Throttling.FleetCoordination'.",
        ], shown);
    }

    [Fact]
    public void A_valid_configuration_shows_no_error()
    {
        using var host = Build(Valid);

        Assert.Empty(StartupConfiguration.Failures(host.Services));
    }

    [Fact]
    public void Defaults_with_an_api_key_are_valid()
    {
        using var host = Build(Valid);

        var validators = host.Services.GetRequiredService<IStartupValidator>();
        validators.Validate();
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddEmbeddingWorker(builder.Configuration);
        return builder.Build();
    }
}
