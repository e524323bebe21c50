using Azure.Storage.Queues;

namespace Stackit.EmbeddingWorker.Messaging;

internal static class QueueClientFactory
{
    /// <summary>The <c>Azure:Credential</c> when <c>Queue:ServiceUri</c> is set, else the connection string.</summary>
    public static QueueServiceClient Create(QueueOptions options, AzureOptions? azure = null)
    {
        // Message bodies are read as raw bytes; base64 from Functions producers is detected by the parser.
        var clientOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        return options.ServiceUri is { } uri
            ? new QueueServiceClient(uri, (azure ?? new AzureOptions()).CreateCredential(), clientOptions)
            : new QueueServiceClient(options.ConnectionString, clientOptions);
    }
}
