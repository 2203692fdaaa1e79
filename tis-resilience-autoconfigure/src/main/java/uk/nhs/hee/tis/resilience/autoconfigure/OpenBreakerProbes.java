package uk.nhs.hee.tis.resilience.autoconfigure;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties.BreakerProbe;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.policy.CallListener;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * While a service's breaker is open, asks its {@code circuit-breaker.probe-path} every
 * {@code probe-interval}, from one background thread, and turns the breaker half-open as soon as the
 * service answers with anything but a failure: callers get the service back within about one interval of
 * it healing, instead of after the whole {@code wait-duration-in-open-state} (an active health check, as
 * Envoy's, but only while the breaker is open). A probe is a GET without credentials, bounded by the
 * service's connect and response timeouts; it never counts as a call. Services without a probe path keep
 * the plain wait.
 */
final class OpenBreakerProbes implements CallListener, DisposableBean {

	private static final Log logger = LogFactory.getLog(OpenBreakerProbes.class);

	private final Map<String, BreakerProbe> probes;

	private final ObjectProvider<ServiceGuardRegistry> registry;

	private final Set<String> probing = ConcurrentHashMap.newKeySet();

	private final Map<String, HttpClient> clients = new ConcurrentHashMap<>();

	private final ScheduledThreadPoolExecutor scheduler;

	OpenBreakerProbes(Map<String, BreakerProbe> probes, ObjectProvider<ServiceGuardRegistry> registry) {
		this.probes = Map.copyOf(probes);
		this.registry = registry;
		this.scheduler = new ScheduledThreadPoolExecutor(1, (task) -> {
			Thread thread = new Thread(task, "tis-resilience-breaker-probe");
			thread.setDaemon(true);
			return thread;
		});
		this.scheduler.setRemoveOnCancelPolicy(true);
	}

	@Override
	public void onCall(String service, CallOutcome outcome, long durationNanos) {
	}

	@Override
	public void onTransition(String service, ServiceGuard.Transition transition) {
		BreakerProbe probe = this.probes.get(service);
		if (probe != null && transition.to() == CircuitBreaker.State.OPEN && this.probing.add(service)) {
			schedule(service, probe);
		}
	}

	private void schedule(String service, BreakerProbe probe) {
		try {
			this.scheduler.schedule(() -> probe(service, probe), probe.interval().toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (RuntimeException ex) {
			// Shut down with the application.
			this.probing.remove(service);
		}
	}

	private void probe(String service, BreakerProbe probe) {
		ServiceGuard guard = this.registry.getObject().guard(service);
		CircuitBreaker breaker = guard.circuitBreaker();
		if (breaker.getState() != CircuitBreaker.State.OPEN) {
			this.probing.remove(service);
			return;
		}
		Integer status = ask(guard, probe);
		if (status != null && HttpFailureClassifier.reasonForStatus(status) == null
				&& breaker.getState() == CircuitBreaker.State.OPEN) {
			try {
				breaker.transitionToHalfOpenState();
			}
			catch (RuntimeException ex) {
				// Another thread moved it on at the same moment: nothing left to do.
			}
			guard.observeState();
			logger.info("tis-resilience event=breaker_probe_answered service=" + service + " status=" + status
					+ " reason=\"the service answers again: its breaker is half-open before its wait is over\"");
			this.probing.remove(service);
			return;
		}
		schedule(service, probe);
	}

	private Integer ask(ServiceGuard guard, BreakerProbe probe) {
		HttpClient client = this.clients.computeIfAbsent(guard.name(), (name) -> HttpClient.newBuilder()
			.connectTimeout(guard.policy().connectTimeout())
			.followRedirects(HttpClient.Redirect.NEVER)
			.build());
		HttpRequest request = HttpRequest.newBuilder(probe.uri()).timeout(guard.policy().responseTimeout()).GET().build();
		try {
			return client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
		}
		catch (IOException ex) {
			return null;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return null;
		}
	}

	@Override
	public void destroy() {
		this.scheduler.shutdownNow();
	}

}
