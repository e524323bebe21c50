using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stackit.EmbeddingWorker.Cli;
using Stackit.EmbeddingWorker.Hosting;
using Stackit.EmbeddingWorker.Management;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>The real worker host, configured for Azurite, the loopback embeddings server and a Qdrant endpoint.</summary>
internal static class WorkerHost
{
    public static Dictionary<string, string?> Settings(string connectionString, string queueName, Uri embeddingsBaseUrl, Uri qdrantEndpoint, string collection) => new()
    {
        ["Queue:ConnectionString"] = connectionString,
        ["Queue:Name"] = queueName,
        ["Queue:MaxPollingInterval"] = "00:00:00.500",
        ["Embeddings:BaseUrl"] = embeddingsBaseUrl.ToString(),
        ["Embeddings:ApiKey"] = FakeEmbeddingServer.ApiKey,
        ["Embeddings:Model"] = "test/e5-like",
        ["Embeddings:RetryBaseDelay"] = "00:00:00.050",
        ["Qdrant:Endpoint"] = qdrantEndpoint.ToString(),
        ["Qdrant:Collection"] = collection,
    };

    public static IHost Build(IDictionary<string, string?> settings, List<string>? logCapture = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Test" });
        Configure(builder, settings, logCapture);
        return builder.Build();
    }

    /// <summary>The worker as <c>Program</c> runs it: with the management port (health, metrics) on <paramref name="port"/>.</summary>
    public static WebApplication BuildWithManagement(IDictionary<string, string?> settings, int port, List<string>? logCapture = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        settings["Management:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Configure(builder, settings, logCapture);
        builder.AddManagementEndpoints();
        var app = builder.Build();
        app.MapManagementEndpoints();
        return app;
    }

    private static void Configure(IHostApplicationBuilder builder, IDictionary<string, string?> settings, List<string>? logCapture)
    {
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (logCapture is null)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
            builder.Logging.AddFilter("Polly", LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        else
        {
            // Everything, HttpClient's request and header tracing included, goes to the capture.
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
        }
        if (TestContext.Current.TestOutputHelper is { } output)
        {
            builder.Logging.AddProvider(new TestOutputLoggerProvider(output, logCapture));
        }
        builder.Services.AddEmbeddingWorker(builder.Configuration);
    }

    /// <summary>A helper command (<c>backfill</c>, <c>status</c>, …) with these settings: its exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Output, string Error)> RunCommandAsync(IEnumerable<KeyValuePair<string, string?>> settings, CancellationToken cancellationToken, params string[] args)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await WorkerCli.RunAsync(args, configuration, new StringReader(""), output, error, cancellationToken);
        return (code, output.ToString(), error.ToString());
    }
}
