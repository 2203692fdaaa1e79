package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.util.ArrayList;
import java.util.List;

import org.aopalliance.aop.Advice;

import org.springframework.aop.Advisor;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.interceptor.ExposeInvocationInterceptor;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * Puts the fallback first in a proxied bean's advice chain, once every other post-processor has added its
 * own: outside Spring's {@code @Retryable} and {@code @ConcurrencyLimit} (which Spring puts before
 * existing advice), {@code @Transactional}, {@code @Cacheable}, {@code @Async} and the starter's own
 * {@code @Resilient}, so the fallback answers only once they have all given up, and its answer is never
 * cached as the method's. Only Spring's {@link ExposeInvocationInterceptor}, which must see every call,
 * stays before it. A plain {@link BeanPostProcessor}, not ordered, so that it runs after the ordered ones
 * that build the chain. See decision record 0019.
 */
final class FallbackAdvisorPlacement implements BeanPostProcessor {

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
		if (!(bean instanceof Advised advised) || advised.isFrozen()) {
			return bean;
		}
		Advisor[] advisors = advised.getAdvisors();
		int current = -1;
		List<Advisor> others = new ArrayList<>();
		for (int i = 0; i < advisors.length; i++) {
			if (advisors[i].getAdvice() instanceof FallbackMethodInterceptor) {
				current = i;
			}
			else {
				others.add(advisors[i]);
			}
		}
		if (current < 0) {
			return bean;
		}
		int place = 0;
		while (place < others.size() && staysOutside(others.get(place).getAdvice())) {
			place++;
		}
		if (place != current) {
			Advisor fallback = advisors[current];
			advised.removeAdvisor(current);
			advised.addAdvisor(place, fallback);
		}
		return bean;
	}

	private static boolean staysOutside(Advice advice) {
		return advice instanceof ExposeInvocationInterceptor;
	}

}
