package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import org.jspecify.annotations.Nullable;

import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.LoadBalancerRequestTransformer;
import org.springframework.cloud.client.loadbalancer.reactive.LoadBalancerClientRequestTransformer;
import org.springframework.http.HttpRequest;
import org.springframework.web.reactive.function.client.ClientRequest;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.InstanceAttempt;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;

/**
 * Told by the load balancer which instance it chose for a request: records it on the request's
 * {@link InstanceAttempt}, so that the guard knows which instance an attempt's outcome belongs to, and
 * removes the {@link InstanceAttempt#AVOID_HEADER}, which was only for the load balancer.
 */
final class InstanceChoiceTransformers {

	private InstanceChoiceTransformers() {
	}

	static void chosen(LoadBalancedInstances instances, @Nullable Object attempt, ServiceInstance instance) {
		if (attempt instanceof InstanceAttempt choice && choice.instance() == null) {
			instances.chosen(choice, instance.getServiceId(), InstanceAttempt.key(instance.getHost(), instance.getPort()));
		}
	}

	/** For {@code RestClient} and {@code RestTemplate}. */
	static final class Blocking implements LoadBalancerRequestTransformer {

		private final LoadBalancedInstances instances;

		Blocking(LoadBalancedInstances instances) {
			this.instances = instances;
		}

		@Override
		public HttpRequest transformRequest(HttpRequest request, ServiceInstance instance) {
			chosen(this.instances, request.getAttributes().get(InstanceAttempt.ATTRIBUTE), instance);
			// The load balancer's request shares its headers with the guard's, which sets them again for the
			// next attempt.
			request.getHeaders().remove(InstanceAttempt.AVOID_HEADER);
			return request;
		}

	}

	/** For {@code WebClient}. */
	static final class Reactive implements LoadBalancerClientRequestTransformer {

		private final LoadBalancedInstances instances;

		Reactive(LoadBalancedInstances instances) {
			this.instances = instances;
		}

		@Override
		public ClientRequest transformRequest(ClientRequest request, ServiceInstance instance) {
			chosen(this.instances, request.attributes().get(InstanceAttempt.ATTRIBUTE), instance);
			if (!request.headers().containsHeader(InstanceAttempt.AVOID_HEADER)) {
				return request;
			}
			return ClientRequest.from(request).headers((headers) -> headers.remove(InstanceAttempt.AVOID_HEADER)).build();
		}

	}

}
