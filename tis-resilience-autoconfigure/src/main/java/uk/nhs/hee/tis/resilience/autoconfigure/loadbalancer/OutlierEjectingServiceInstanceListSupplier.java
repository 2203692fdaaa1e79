package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import java.util.List;
import java.util.Set;

import reactor.core.publisher.Flux;

import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.Request;
import org.springframework.cloud.client.loadbalancer.RequestData;
import org.springframework.cloud.client.loadbalancer.RequestDataContext;
import org.springframework.cloud.loadbalancer.core.DelegatingServiceInstanceListSupplier;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.InstanceAttempt;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.policy.OutlierDetector;

/**
 * The instances a load balancer chooses from: discovery's, without those ejected as outliers and without
 * those the request already failed on (named in {@link InstanceAttempt#AVOID_HEADER}), unless that would
 * leave none. Outermost in the supplier chain, so that it is applied on every choice, after any cache.
 */
final class OutlierEjectingServiceInstanceListSupplier extends DelegatingServiceInstanceListSupplier {

	private final OutlierDetector detector;

	OutlierEjectingServiceInstanceListSupplier(ServiceInstanceListSupplier delegate, LoadBalancedInstances instances) {
		super(delegate);
		this.detector = instances.detector(delegate.getServiceId());
	}

	@Override
	public Flux<List<ServiceInstance>> get() {
		return this.delegate.get().map((candidates) -> inRotation(candidates, Set.of()));
	}

	@Override
	public Flux<List<ServiceInstance>> get(Request request) {
		Set<String> avoid = avoided(request);
		return this.delegate.get(request).map((candidates) -> inRotation(candidates, avoid));
	}

	private List<ServiceInstance> inRotation(List<ServiceInstance> candidates, Set<String> avoid) {
		return this.detector.inRotation(candidates,
				(instance) -> InstanceAttempt.key(instance.getHost(), instance.getPort()), avoid);
	}

	private static Set<String> avoided(Request<?> request) {
		if (!(request.getContext() instanceof RequestDataContext context)) {
			return Set.of();
		}
		RequestData data = context.getClientRequest();
		if (data == null || data.getHeaders() == null) {
			return Set.of();
		}
		return InstanceAttempt.avoided(data.getHeaders().getFirst(InstanceAttempt.AVOID_HEADER));
	}

}
