package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.FactoryBean;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.core.ResolvableType;

/**
 * A post-processor of client beans (blocking or WebClient), and what it could protect only in part: the beans
 * it left as they were, each described with what its calls lack and what to do. {@link UnprotectedEgressReport}
 * names them at startup.
 */
abstract class PartlyProtectedClients implements BeanPostProcessor, BeanFactoryAware {

	private final Map<String, String> partlyProtected = new ConcurrentHashMap<>();

	private @Nullable ConfigurableListableBeanFactory beanFactory;

	@Override
	public void setBeanFactory(BeanFactory beanFactory) {
		if (beanFactory instanceof ConfigurableListableBeanFactory listable) {
			this.beanFactory = listable;
		}
	}

	/** The beans, by name, each with a description. */
	final Map<String, String> partlyProtected() {
		return Map.copyOf(this.partlyProtected);
	}

	/** Names a bean left as it was, with what its calls lack and what to do. */
	final void leftAsItIs(String beanName, String description) {
		this.partlyProtected.put(beanName, description);
	}

	/**
	 * The type a bean is declared as, when a wrapper of type {@code wrapper} may not stand in for it: a bean may
	 * be injected as its declared type. Null when the wrapper may replace it (or the type cannot be known).
	 */
	final @Nullable ResolvableType declaredUnlessReplaceableBy(String beanName, Class<?> wrapper) {
		ResolvableType declared = declaredType(this.beanFactory, beanName);
		return (declared == null || declared.isAssignableFrom(wrapper)) ? null : declared;
	}

	/**
	 * The type a bean is declared as (a {@code @Bean} method's return type, generics included), or null when it
	 * cannot be known.
	 */
	private static @Nullable ResolvableType declaredType(@Nullable ConfigurableListableBeanFactory factory,
			String beanName) {
		if (factory == null || !factory.containsBeanDefinition(beanName)) {
			return null;
		}
		BeanDefinition definition = factory.getMergedBeanDefinition(beanName);
		ResolvableType type = (definition instanceof RootBeanDefinition root && root.getResolvedFactoryMethod() != null)
				? ResolvableType.forMethodReturnType(root.getResolvedFactoryMethod()) : definition.getResolvableType();
		if (type == ResolvableType.NONE) {
			return null;
		}
		// A FactoryBean's object is injected as the type the FactoryBean says it makes.
		ResolvableType made = type.as(FactoryBean.class);
		return (made == ResolvableType.NONE) ? type : (made.getGeneric(0).resolve() != null) ? made.getGeneric(0) : null;
	}

	/** A declared type as a reader knows it: simple names, generics included. */
	static String shortName(ResolvableType declared) {
		Class<?> type = declared.toClass();
		if (!declared.hasGenerics()) {
			return type.getSimpleName();
		}
		StringBuilder name = new StringBuilder(type.getSimpleName()).append('<');
		ResolvableType[] generics = declared.getGenerics();
		for (int i = 0; i < generics.length; i++) {
			name.append((i > 0) ? ", " : "").append(generics[i].resolve() != null ? shortName(generics[i]) : "?");
		}
		return name.append('>').toString();
	}

}
