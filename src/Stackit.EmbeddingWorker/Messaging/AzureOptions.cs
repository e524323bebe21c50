using Azure.Core;
using Azure.Identity;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>
/// The <c>Azure</c> section: which credential reaches storage when <c>Queue:ServiceUri</c> / <c>Blobs:ServiceUri</c> are
/// set instead of connection strings. <see cref="AzureCredentialKind.WorkloadIdentity"/> in Kubernetes (the token the
/// workload-identity webhook projects; nothing else is probed), <see cref="AzureCredentialKind.ManagedIdentity"/> on an
/// Azure host, <see cref="AzureCredentialKind.Default"/> tries the chain of <c>DefaultAzureCredential</c>.
/// </summary>
public sealed class AzureOptions
{
    public const string SectionName = "Azure";

    public AzureCredentialKind Credential { get; set; } = AzureCredentialKind.Default;

    internal TokenCredential CreateCredential() => Credential switch
    {
        AzureCredentialKind.WorkloadIdentity => new WorkloadIdentityCredential(),
        AzureCredentialKind.ManagedIdentity => new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned),
        _ => new DefaultAzureCredential(),
    };
}

public enum AzureCredentialKind
{
    Default,
    WorkloadIdentity,
    ManagedIdentity,
}
