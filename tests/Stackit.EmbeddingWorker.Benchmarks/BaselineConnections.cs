using System.Globalization;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Qdrant.Client;

namespace Stackit.EmbeddingWorker.Benchmarks;

/// <summary>
/// What the naive and the plain client share: their settings, passed in the environment under one prefix each,
/// the queue, Qdrant and endpoint clients made from them, and the loop that receives messages.
/// </summary>
internal sealed class BaselineConnections : IDisposable
{
    private readonly string _prefix;

    private BaselineConnections(string prefix, TimeSpan httpTimeout)
    {
        _prefix = prefix;
        Queue = new QueueClient(Setting("QUEUE_CONNECTION"), Setting("QUEUE"), new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        var qdrant = new Uri(Setting("QDRANT"));
        Qdrant = new QdrantClient(qdrant.Host, qdrant.Port);
        Collection = Setting("COLLECTION");
        Http = new HttpClient { BaseAddress = new Uri(Setting("ENDPOINT").TrimEnd('/') + "/"), Timeout = httpTimeout };
        Http.DefaultRequestHeaders.Authorization = new("Bearer", "benchmark");
    }

    public QueueClient Queue { get; }

    public QdrantClient Qdrant { get; }

    public string Collection { get; }

    public HttpClient Http { get; }

    /// <summary>The settings a client process reads with <see cref="FromEnvironment"/>, and <paramref name="more"/> of its own.</summary>
    public static Dictionary<string, string> Environment(string prefix, string queueConnection, string queue, Uri endpoint, Uri qdrant, string collection, params (string Name, int Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            [prefix + "QUEUE_CONNECTION"] = queueConnection,
            [prefix + "QUEUE"] = queue,
            [prefix + "ENDPOINT"] = endpoint.ToString(),
            [prefix + "QDRANT"] = qdrant.ToString(),
            [prefix + "COLLECTION"] = collection,
        };
        foreach (var (name, value) in more)
        {
            environment[prefix + name] = value.ToString(CultureInfo.InvariantCulture);
        }
        return environment;
    }

    public static BaselineConnections FromEnvironment(string prefix, TimeSpan httpTimeout) => new(prefix, httpTimeout);

    public string Setting(string name) =>
        System.Environment.GetEnvironmentVariable(_prefix + name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{_prefix + name} is not set.");

    public int IntegerSetting(string name) => int.Parse(Setting(name), CultureInfo.InvariantCulture);

    /// <summary>Receives 32 messages at a time, leased for 5 minutes, and hands each on; waits <paramref name="idle"/> when the queue is empty.</summary>
    public async Task ReceiveForeverAsync(TimeSpan idle, Func<QueueMessage, ValueTask> handle)
    {
        while (true)
        {
            var batch = (await Queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value;
            if (batch.Length == 0)
            {
                await Task.Delay(idle);
            }
            foreach (var message in batch)
            {
                await handle(message);
            }
        }
    }

    public void Dispose()
    {
        Qdrant.Dispose();
        Http.Dispose();
    }
}
