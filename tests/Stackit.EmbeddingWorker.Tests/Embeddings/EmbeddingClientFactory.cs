using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Stackit.EmbeddingWorker.Embeddings;
using Stackit.EmbeddingWorker.Hosting;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Embeddings;

/// <summary>The embeddings client exactly as the worker registers it, resilience handler included.</summary>
internal static class EmbeddingClientFactory
{
    public static ServiceProvider Services(FakeEmbeddingServer server, TimeProvider? time = null, Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Embeddings:BaseUrl"] = server.BaseUrl.ToString(),
            ["Embeddings:ApiKey"] = FakeEmbeddingServer.ApiKey,
            ["Embeddings:Model"] = "test/e5-like",
            ["Embeddings:RetryBaseDelay"] = "00:00:00.010",
            ["Embeddings:MaxRetries"] = "3",
        };
        configure?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IHostApplicationLifetime, ApplicationLifetime>();
        services.AddEmbeddingWorker(configuration);
        if (time is not null)
        {
            services.AddSingleton(time);
        }
        return services.BuildServiceProvider();
    }

    public static IEmbeddingClient Client(this ServiceProvider services) => services.GetRequiredService<IEmbeddingClient>();
}
