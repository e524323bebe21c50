using Azure.Identity;
using Azure.Storage.Queues;

namespace Stackit.EmbeddingWorker.Messaging;

internal static class QueueClientFactory
{
    /// <summary>Managed identity when <c>Queue:ServiceUri</c> is set, else the connection string.</summary>
    public static QueueServiceClient Create(QueueOptions options)
    {
        // Message bodies are read as raw bytes; base64 from Functions producers is detected by the parser.
        var clientOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        return options.ServiceUri is { } uri
            ? new QueueServiceClient(uri, new DefaultAzureCredential(), clientOptions)
            : new QueueServiceClient(options.ConnectionString, clientOptions);
    }
}
