package uk.nhs.hee.tis.examples.tcs;

import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.cloud.client.loadbalancer.DeferringLoadBalancerInterceptor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.client.support.RestClientHttpServiceGroupConfigurer;

/**
 * Profile's several instances, found by discovery ({@code spring.cloud.discovery.client.simple.instances.profile})
 * and load-balanced by Spring Cloud LoadBalancer, when {@code demo.profile.load-balanced} is on (drill D7):
 * Profile's HTTP service group gets the load balancer's interceptor, and {@code profile.url} is the logical
 * {@code http://profile/profile}. With the starter, a bad instance is ejected and requests that cannot reach
 * it go to the other; without it, Spring Cloud LoadBalancer's round-robin keeps sending it every other
 * request. See docs/load-balancing.md.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBooleanProperty("demo.profile.load-balanced")
class LoadBalancedProfileConfiguration {

	@Bean
	RestClientHttpServiceGroupConfigurer loadBalancedProfile(DeferringLoadBalancerInterceptor loadBalancer) {
		return (groups) -> groups.filterByName("profile")
			.forEachClient((group, builder) -> builder.requestInterceptor(loadBalancer));
	}

}
